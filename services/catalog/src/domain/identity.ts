/** The role that may create and change products. */
export const ADMIN_ROLE = 'admin';

/** Who is calling, as the gateway forwards it after verifying the JWT. */
export interface Identity {
  userId: string;
  roles: readonly string[];
}

/** Request headers as node gives them (lower-case names, repeated headers as arrays). */
export type HeaderMap = Readonly<Record<string, string | string[] | undefined>>;

/** The first value of a header, trimmed; undefined when absent or blank. */
function header(headers: HeaderMap, name: string): string | undefined {
  const raw = headers[name];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  return value === '' ? undefined : value;
}

/**
 * The caller's identity from `x-user-id` and `x-user-roles` (comma-separated). Catalog trusts
 * these headers because only the gateway, which verified the token, can reach it; no user id
 * means an anonymous caller.
 */
export function identityFromHeaders(headers: HeaderMap): Identity | undefined {
  const userId = header(headers, 'x-user-id');
  if (userId === undefined) return undefined;
  const roles = (header(headers, 'x-user-roles') ?? '')
    .split(',')
    .map((role) => role.trim().toLowerCase())
    .filter(Boolean);
  return { userId, roles };
}

/** True when the caller may create and change products. */
export function canManageCatalogue(identity: Identity): boolean {
  return identity.roles.includes(ADMIN_ROLE);
}
