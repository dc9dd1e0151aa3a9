import { AppError } from '@emporium/platform';

/** Catalog's error codes, stable for clients. */
export const CatalogErrorCode = {
  PRODUCT_NOT_FOUND: 'PRODUCT_NOT_FOUND',
  SKU_EXISTS: 'SKU_EXISTS',
  SKU_IMMUTABLE: 'SKU_IMMUTABLE',
  CONCURRENT_UPDATE: 'CONCURRENT_UPDATE',
} as const;

/** No product has this id. */
export function productNotFound(id: string): AppError {
  return new AppError(CatalogErrorCode.PRODUCT_NOT_FOUND, 404, `No product with id ${id}.`);
}

/** Another product already has this SKU. */
export function skuExists(sku: string): AppError {
  return new AppError(CatalogErrorCode.SKU_EXISTS, 409, `A product with SKU ${sku} exists.`, {
    extensions: { sku },
  });
}

/** An update tried to change a product's SKU, which stock, carts and orders are keyed by. */
export function skuImmutable(current: string, requested: string): AppError {
  return new AppError(
    CatalogErrorCode.SKU_IMMUTABLE,
    409,
    `The SKU of a product cannot change (it is ${current}, not ${requested}); create a new product instead.`,
    { extensions: { sku: current } },
  );
}

/** The product kept changing under this update; the client may simply retry. */
export function concurrentUpdate(id: string): AppError {
  return new AppError(
    CatalogErrorCode.CONCURRENT_UPDATE,
    409,
    `Product ${id} was changed by other requests at the same time; retry.`,
  );
}
