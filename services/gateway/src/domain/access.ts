/** Who may call a route: anyone, any signed-in user, or an admin. */
export type Access = 'anonymous' | 'user' | 'admin';

/** The anonymous routes: catalog browsing and the product page, read-only. */
const ANONYMOUS = [
  /^\/api\/products$/,
  /^\/api\/products\/[^/]+$/,
  /^\/api\/products\/[^/]+\/page$/,
];

/** Admin-only routes: catalog and stock writes. */
const ADMIN: readonly { method: string; path: RegExp }[] = [
  { method: 'POST', path: /^\/api\/products$/ },
  { method: 'PUT', path: /^\/api\/products\/[^/]+$/ },
  { method: 'PUT', path: /^\/api\/stock\/[^/]+$/ },
];

/**
 * The access a request to `/api/*` needs. Default-deny: any path not listed (including
 * unknown ones) needs a signed-in user, so an anonymous caller cannot even probe for routes.
 */
export function accessFor(method: string, path: string): Access {
  const normalised = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const verb = method.toUpperCase();
  if (ADMIN.some((rule) => rule.method === verb && rule.path.test(normalised))) return 'admin';
  if ((verb === 'GET' || verb === 'HEAD') && ANONYMOUS.some((re) => re.test(normalised))) {
    return 'anonymous';
  }
  return 'user';
}
