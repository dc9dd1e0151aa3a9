import { z } from 'zod';

/** A token as the issuer handed it out, and when to stop using it. */
interface HeldToken {
  value: string;
  refreshAtMs: number;
}

/** Renewal starts this long before expiry at most, so a request never carries a dying token. */
const MAX_REFRESH_MARGIN_MS = 60_000;

/** Each shopper's bearer token, renewed before it expires. */
export interface TokenBook {
  /** The user's token if it is still good for a while at `nowMs`; undefined means fetch one. */
  get(user: string, nowMs: number): string | undefined;
  /** Keeps a token the issuer handed out at `nowMs`, valid for `expiresInSeconds`. */
  put(user: string, token: string, expiresInSeconds: number, nowMs: number): void;
  /** Drops a token the gateway refused (e.g. the gateway restarted with a new dev key). */
  forget(user: string): void;
}

/**
 * Creates an empty token book. A token is renewed once a tenth of its lifetime (at most a
 * minute) is left: early enough to absorb clock skew and a slow request, late enough not to
 * hammer the issuer.
 */
export function createTokenBook(): TokenBook {
  const tokens = new Map<string, HeldToken>();
  return {
    get(user, nowMs) {
      const token = tokens.get(user);
      return token && nowMs < token.refreshAtMs ? token.value : undefined;
    },
    put(user, value, expiresInSeconds, nowMs) {
      const lifetimeMs = Math.max(0, expiresInSeconds * 1000);
      const margin = Math.min(MAX_REFRESH_MARGIN_MS, lifetimeMs / 10);
      tokens.set(user, { value, refreshAtMs: nowMs + lifetimeMs - margin });
    },
    forget(user) {
      tokens.delete(user);
    },
  };
}

/** A token answer (OAuth 2.0 style) from the issuer. */
const TokenAnswerSchema = z.looseObject({
  access_token: z.string().regex(/^[A-Za-z0-9\-_.~+/]+=*$/, 'expected a bearer token'),
  expires_in: z.number().positive().optional(),
});

/** How long a token without `expires_in` is assumed to last: short, so it is soon renewed. */
export const DEFAULT_TOKEN_SECONDS = 300;

/** The token and its lifetime from an issuer's answer; undefined if it is not one. */
export function parseTokenAnswer(
  body: unknown,
): { token: string; expiresInSeconds: number } | undefined {
  const parsed = TokenAnswerSchema.safeParse(body);
  if (!parsed.success) return undefined;
  return {
    token: parsed.data.access_token,
    expiresInSeconds: parsed.data.expires_in ?? DEFAULT_TOKEN_SECONDS,
  };
}
