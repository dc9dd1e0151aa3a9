import {
  authConfigShape,
  checkAuth,
  baseConfigSchema,
  envVar,
  loadConfigOrExit,
  redisConfigShape,
  upstreamConfigShape,
  type Environment,
} from '@emporium/platform';
import { Currency } from '@emporium/contracts';
import type { z } from 'zod';

/** Every variable cart reads. */
export const configSchema = baseConfigSchema
  .extend({
    ...authConfigShape,
    ...redisConfigShape,
    ...upstreamConfigShape,
    /** Base URL of the catalog service (its Envoy egress listener, or catalog itself). */
    UPSTREAM_CATALOG_URL: envVar.url(),
    /** How long an untouched cart lives, in seconds; every write starts it again (7 days). */
    CART_TTL_SECONDS: envVar.int(60, 90 * 24 * 3600).default(7 * 24 * 3600),
    /** The currency an empty cart reports, before its first line fixes the catalog's. */
    CART_DEFAULT_CURRENCY: Currency.default('EUR'),
  })
  .superRefine(checkAuth);

/** Cart's parsed, frozen configuration. */
export type Config = z.output<typeof configSchema>;

/** Parses the environment once; a bad one exits listing every offending variable. */
export function loadCartConfig(env: Environment): Readonly<Config> {
  return loadConfigOrExit('cart', configSchema, env);
}
