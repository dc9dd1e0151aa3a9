/** The claims of a verified JWT; anything not looked at here is ignored. */
export type Claims = Readonly<Record<string, unknown>>;

/** A role name safe to log and compare: no commas, spaces or control bytes. */
const ROLE = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A user id safe in paths and keys: the services put it in URLs and Redis keys. */
const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

function strings(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

/**
 * Whether the token was issued for `audience`. Standard tokens (and Cognito ID tokens) carry
 * `aud`, a string or an array; Cognito access tokens carry no `aud` but the app client id in
 * `client_id`. So: when `aud` is present it must name the audience; only when it is absent
 * does `client_id` decide. A token with neither is refused.
 */
export function hasAudience(claims: Claims, audience: string): boolean {
  if (claims.aud !== undefined) return strings(claims.aud).includes(audience);
  return claims.client_id === audience;
}

/**
 * The roles of a token: Cognito's `cognito:groups` and a plain `roles` claim (array or
 * comma/space-separated string), merged, deduplicated, lower-cased, and limited to safe names.
 */
export function rolesOf(claims: Claims): string[] {
  const roles = [...strings(claims['cognito:groups']), ...strings(claims.roles)];
  return [...new Set(roles.filter((role) => ROLE.test(role)).map((role) => role.toLowerCase()))];
}

/** The user id of a verified token's subject, or null when it is missing or odd. */
export function userIdOf(claims: Claims): string | null {
  const { sub } = claims;
  // The subject ends up in upstream paths and keys: refuse anything odd outright.
  return typeof sub === 'string' && USER_ID.test(sub) ? sub : null;
}
