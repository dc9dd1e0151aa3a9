import {
  baseConfigSchema,
  envVar,
  kafkaConfigShape,
  loadConfigOrExit,
  mongoConfigShape,
  type Environment,
} from '@emporium/platform';
import type { z } from 'zod';

/** Every variable inventory reads. */
export const configSchema = baseConfigSchema.extend({
  ...kafkaConfigShape,
  ...mongoConfigShape,
  MONGO_DATABASE: mongoConfigShape.MONGO_DATABASE.default('inventory'),
  /** Units a sku starts with when inventory first hears of it from catalog. */
  INVENTORY_INITIAL_STOCK: envVar.int(0, 1_000_000_000).default(100),
});

/** Inventory's parsed, frozen configuration. */
export type Config = z.output<typeof configSchema>;

/** Parses the environment once; a bad one exits listing every offending variable. */
export function loadInventoryConfig(env: Environment): Readonly<Config> {
  return loadConfigOrExit('inventory', configSchema, env);
}
