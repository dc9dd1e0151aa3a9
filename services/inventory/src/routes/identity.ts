import { errors, type Routes } from '@emporium/platform';

/** An express middleware, typed through the platform so inventory needs no express import. */
type Middleware = Parameters<Routes['use']>[number];

/** Headers the gateway forwards after verifying the caller's JWT. */
export const IDENTITY_HEADERS = { userId: 'x-user-id', roles: 'x-user-roles' } as const;

/**
 * Throws 401 without `x-user-id` and 403 unless `x-user-roles` (comma-separated) names `admin`.
 * Inventory trusts these headers because only the gateway, which verified the JWT, reaches it.
 */
export function requireAdmin(headers: Record<string, string | string[] | undefined>): void {
  const userId = headers[IDENTITY_HEADERS.userId];
  if (typeof userId !== 'string' || userId.trim() === '') throw errors.unauthorized();
  const roles = headers[IDENTITY_HEADERS.roles];
  const list = (Array.isArray(roles) ? roles.join(',') : (roles ?? '')).split(',');
  if (!list.map((role) => role.trim()).includes('admin')) {
    throw errors.forbidden('Only an admin may change stock.');
  }
}

/**
 * Guards the given methods under a path prefix before their body is parsed or validated, so a
 * caller without the right learns nothing from a 400 first.
 */
export function adminOnly(methods: readonly string[], pathPrefix: string): Middleware {
  return (req, _res, next) => {
    if (methods.includes(req.method) && req.path.startsWith(pathPrefix)) requireAdmin(req.headers);
    next();
  };
}
