import {
  authConfigShape,
  checkAuth,
  baseConfigSchema,
  checkKafkaSasl,
  kafkaConfigShape,
  loadConfigOrExit,
  mongoConfigShape,
  type Environment,
} from '@emporium/platform';
import type { z } from 'zod';

/** Every variable notifications reads. */
export const configSchema = baseConfigSchema
  .extend({
    ...authConfigShape,
    ...kafkaConfigShape,
    ...mongoConfigShape,
    MONGO_DATABASE: mongoConfigShape.MONGO_DATABASE.default('notifications'),
  })
  .superRefine(checkKafkaSasl)
  .superRefine(checkAuth);

/** Notifications' parsed, frozen configuration. */
export type Config = z.output<typeof configSchema>;

/** Parses the environment once; a bad one exits listing every offending variable. */
export function loadNotificationsConfig(env: Environment): Readonly<Config> {
  return loadConfigOrExit('notifications', configSchema, env);
}
