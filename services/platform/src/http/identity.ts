import type { RequestHandler } from 'express';
import { errors } from '../errors.js';

/**
 * The headers the gateway sets once it has verified the caller's JWT (and strips from what
 * clients send). Services trust them because only the gateway and other services reach them.
 */
export const IDENTITY_HEADERS = { userId: 'x-user-id', roles: 'x-user-roles' } as const;

/** The role that may act for anyone and change the catalogue and stock. */
export const ADMIN_ROLE = 'admin';

/** A signed-in caller, as the gateway forwards them. */
export interface Caller {
  readonly userId: string;
  /** Lower-case role names. */
  readonly roles: readonly string[];
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
 * The caller from `x-user-id` and `x-user-roles` (comma-separated); undefined without a user
 * id, which means a call from inside the mesh (another service, an operator's job).
 */
export function callerOf(headers: HeaderMap): Caller | undefined {
  const userId = header(headers, IDENTITY_HEADERS.userId);
  if (userId === undefined) return undefined;
  const roles = (header(headers, IDENTITY_HEADERS.roles) ?? '')
    .split(',')
    .map((role) => role.trim().toLowerCase())
    .filter(Boolean);
  return { userId, roles };
}

/** Whether the caller has the admin role. */
export function isAdmin(caller: Caller | undefined): boolean {
  return caller?.roles.includes(ADMIN_ROLE) ?? false;
}

/**
 * Whether the caller may act for (read or change the data of) `userId`: a call from inside
 * the mesh may, a customer only for themself, an admin for anyone.
 */
export function mayActFor(caller: Caller | undefined, userId: string): boolean {
  return caller === undefined || caller.userId === userId || isAdmin(caller);
}

/** Which requests {@link requireAdmin} guards, and what the refusals say. */
export interface AdminGuard {
  /** Methods guarded, e.g. `['PUT']`. */
  readonly methods: readonly string[];
  /** Whether a request path is guarded. */
  readonly path: (path: string) => boolean;
  /** What is refused, for the problem's detail, e.g. `Changing stock`. */
  readonly action: string;
}

/**
 * A middleware: 401 without a signed-in caller, 403 without the admin role, for the guarded
 * methods and paths. Mounted before the routes, it answers before a body is parsed or
 * validated, so a caller without the right learns nothing from a 400 first.
 */
export function requireAdmin(guard: AdminGuard): RequestHandler {
  return (req, _res, next) => {
    if (guard.methods.includes(req.method) && guard.path(req.path)) {
      const caller = callerOf(req.headers);
      if (!caller) throw errors.unauthorized(`${guard.action} needs a signed-in user.`);
      if (!isAdmin(caller)) throw errors.forbidden(`${guard.action} needs the admin role.`);
    }
    next();
  };
}
