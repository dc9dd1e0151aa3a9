/** A verified caller, as forwarded to the services in `x-user-id` / `x-user-roles`. */
export interface Identity {
  userId: string;
  roles: string[];
}

/** The claims of a verified JWT the gateway looks at; anything else is ignored. */
export type Claims = Readonly<Record<string, unknown>>;

/** A role name safe to put in a comma-separated header: no commas, spaces or control bytes. */
const ROLE = /^[A-Za-z0-9_.:-]{1,64}$/;

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
 * comma/space-separated string), merged, deduplicated, and limited to header-safe names.
 */
export function rolesOf(claims: Claims): string[] {
  const roles = [...strings(claims['cognito:groups']), ...strings(claims.roles)];
  return [...new Set(roles.filter((role) => ROLE.test(role)))];
}

/** The identity of a verified token, or null when it has no usable subject. */
export function identityOf(claims: Claims): Identity | null {
  const { sub } = claims;
  // The subject travels in a header and in upstream paths: refuse anything odd outright.
  if (typeof sub !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(sub)) return null;
  return { userId: sub, roles: rolesOf(claims) };
}

/** Whether the identity holds the admin role. */
export function isAdmin(identity: Identity): boolean {
  return identity.roles.includes('admin');
}
