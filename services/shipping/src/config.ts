import {
  baseConfigSchema,
  envVar,
  kafkaConfigShape,
  loadConfigOrExit,
  mongoConfigShape,
  type Environment,
} from '@emporium/platform';
import { z } from 'zod';

/** Every variable shipping reads. */
export const configSchema = baseConfigSchema.extend({
  ...kafkaConfigShape,
  ...mongoConfigShape,
  MONGO_DATABASE: mongoConfigShape.MONGO_DATABASE.default('shipping'),
  /** The carrier every shipment is handed to (a simulated one). */
  SHIPPING_CARRIER: z.string().min(1).max(50).default('EMPORIUM-POST'),
  /** How often the outbox relay looks for unsent events, in ms. */
  OUTBOX_INTERVAL_MS: envVar.int(50, 60_000).default(500),
});

/** Shipping's parsed, frozen configuration. */
export type Config = z.output<typeof configSchema>;

/** Parses the environment once; a bad one exits listing every offending variable. */
export function loadShippingConfig(env: Environment): Readonly<Config> {
  return loadConfigOrExit('shipping', configSchema, env);
}
