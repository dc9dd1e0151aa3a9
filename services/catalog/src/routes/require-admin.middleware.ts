import { errors, type Routes } from '@emporium/platform';
import { canManageCatalogue, identityFromHeaders } from '../domain/identity.js';

/** An express middleware, named through the platform so catalog need not depend on express. */
type Middleware = Parameters<Routes['use']>[number];

/** Methods that only read, open to anyone. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Guards writes to `/products`: 401 without `x-user-id`, 403 without the `admin` role. It runs
 * before the body is parsed or validated, so an anonymous caller learns nothing about the
 * body's rules. The headers are trusted because the gateway verified the JWT and set them.
 */
export const requireAdminForWrites: Middleware = (req, _res, next) => {
  const productsPath = req.path === '/products' || req.path.startsWith('/products/');
  if (READ_METHODS.has(req.method) || !productsPath) {
    next();
    return;
  }
  const identity = identityFromHeaders(req.headers);
  if (!identity) throw errors.unauthorized('Changing the catalogue needs a signed-in user.');
  if (!canManageCatalogue(identity)) {
    throw errors.forbidden('Changing the catalogue needs the admin role.');
  }
  next();
};
