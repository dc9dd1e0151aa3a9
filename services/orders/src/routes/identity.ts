/** The headers the gateway forwards once it has verified the caller's JWT. */
export const IDENTITY_HEADERS = { userId: 'x-user-id', roles: 'x-user-roles' } as const;

/** Anything that can read a request header (an express request). */
interface HeaderSource {
  get(name: string): string | undefined;
}

/**
 * Whether the caller may act for `userId`. Orders sits behind the gateway, which verifies the
 * JWT and forwards `x-user-id` and `x-user-roles`; those headers are trusted as they are. A
 * request without `x-user-id` comes from inside the mesh (another service, an operator) and
 * may act for anyone; a customer may act only for themself, an `admin` for anyone.
 */
export function mayActFor(req: HeaderSource, userId: string): boolean {
  const caller = req.get(IDENTITY_HEADERS.userId);
  if (caller === undefined || caller === '' || caller === userId) return true;
  const roles = (req.get(IDENTITY_HEADERS.roles) ?? '').split(',').map((role) => role.trim());
  return roles.includes('admin');
}
