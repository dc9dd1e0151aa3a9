import { baseConfigSchema, envVar, loadConfigOrExit, type Environment } from '@emporium/platform';
import { z } from 'zod';
import { DURATION_HINT, parseDuration } from './domain/duration.js';

/** A user name the gateway accepts as a token subject (the store's id format). */
const USER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** The most demo users a count may ask for. */
const MAX_USERS = 10_000;

/**
 * LOADGEN_USERS: a count `N` (the users `shopper-1` … `shopper-N`) or a comma-separated list
 * of names (e.g. `alice,bob`, for an issuer that knows only those).
 */
const usersVar = () =>
  z.string().transform((raw, ctx) => {
    const text = raw.trim();
    if (/^\d+$/.test(text)) {
      const count = Number(text);
      if (count >= 1 && count <= MAX_USERS) {
        return Array.from({ length: count }, (_, i) => `shopper-${String(i + 1)}`);
      }
      ctx.addIssue({ code: 'custom', message: `expected 1–${String(MAX_USERS)} users` });
      return z.NEVER;
    }
    const names = [...new Set(text.split(',').map((name) => name.trim()))].filter(Boolean);
    if (names.length === 0 || !names.every((name) => USER_NAME.test(name))) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected a number of users or a comma-separated list of user names',
      });
      return z.NEVER;
    }
    return names;
  });

/** The longest timer Node can set (about 24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** A duration like `60s`, `5m`, `1h`, in ms. */
const durationVar = () =>
  z.string().transform((raw, ctx) => {
    const ms = parseDuration(raw.trim());
    if (ms !== undefined && ms <= MAX_TIMER_MS) return ms;
    ctx.addIssue({
      code: 'custom',
      message:
        ms === undefined ? DURATION_HINT : 'expected at most 24 days; omit it to run until stopped',
    });
    return z.NEVER;
  });

/** A settle time: a duration, or `0` for no settle phase. */
const settleVar = () =>
  z.string().transform((raw, ctx) => {
    const text = raw.trim();
    if (/^0+(ms|s|m|h)?$/.test(text)) return 0;
    const ms = parseDuration(text);
    if (ms !== undefined && ms <= MAX_TIMER_MS) return ms;
    ctx.addIssue({ code: 'custom', message: `${DURATION_HINT}, or 0 for none` });
    return z.NEVER;
  });

/** Every variable loadgen reads. */
export const configSchema = baseConfigSchema
  .extend({
    /** The gateway every shopper goes through, e.g. `http://gateway:8080`. */
    UPSTREAM_GATEWAY_URL: envVar.url(),
    /** The token endpoint; `<UPSTREAM_GATEWAY_URL>/dev/token` (the dev issuer) by default. */
    LOADGEN_TOKEN_URL: envVar.url().optional(),
    /** Requests per second across all shoppers. */
    LOADGEN_RPS: z
      .string()
      .regex(/^\d+(\.\d+)?$/, 'expected a number')
      .transform(Number)
      .pipe(z.number().gt(0, 'expected more than 0').max(100_000, 'expected at most 100000'))
      .default(5),
    /** Most requests in flight at once; an arrival beyond it is dropped and counted. */
    LOADGEN_CONCURRENCY: envVar.int(1, 10_000).default(20),
    /** How long to run (`60s`, `5m`, `1h`); without it, until SIGTERM. */
    LOADGEN_DURATION: durationVar().optional(),
    /** A number of users `shopper-<n>`, or a comma-separated list of names. */
    LOADGEN_USERS: usersVar().default(usersVar().parse('20')),
    /** The share of journeys that check out, 0–1. */
    LOADGEN_CHECKOUT_RATIO: envVar.number(0, 1).default(0.3),
    /**
     * After a finite run (LOADGEN_DURATION), how long after the last checkout loadgen keeps
     * reading back the orders not yet final; `0` skips that settle phase.
     */
    LOADGEN_SETTLE: settleVar().default(60_000),
    /** Orders read back at once during the settle phase. */
    LOADGEN_SETTLE_CONCURRENCY: envVar.int(1, 64).default(4),
    /** Deadline of each request to the gateway, body included, in ms. */
    LOADGEN_REQUEST_TIMEOUT_MS: envVar.int(50, 120_000).default(5000),
  })
  .transform((env) => ({
    ...env,
    LOADGEN_TOKEN_URL:
      env.LOADGEN_TOKEN_URL ?? `${env.UPSTREAM_GATEWAY_URL.replace(/\/+$/, '')}/dev/token`,
  }));

/** Loadgen's parsed, frozen configuration. */
export type Config = z.output<typeof configSchema>;

/** Parses the environment once; a bad one exits listing every offending variable. */
export function loadLoadgenConfig(env: Environment): Readonly<Config> {
  return loadConfigOrExit('loadgen', configSchema, env);
}
