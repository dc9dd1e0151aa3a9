import { actorOf } from '@emporium/platform';
import { Id, ProductInputSchema, ProductReplacementSchema, Sku } from '@emporium/contracts';
import type { Routes } from '@emporium/platform';
import { z } from 'zod';
import type { CatalogMetrics } from '../catalog.metrics.js';
import { createProduct, ProductSchema, reviseProduct } from '../domain/product.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, resolveQuery } from '../domain/product-query.js';
import { concurrentUpdate, productNotFound, skuExists, skuImmutable } from '../errors.js';
import type { ProductCache } from '../repositories/product-cache.repository.js';
import type { ProductsRepository } from '../repositories/products.repository.js';

/** A page of products. */
export const ProductPageSchema = z
  .object({
    items: z.array(ProductSchema),
    total: z.number().int().min(0),
    limit: z.number().int().min(1).max(MAX_PAGE_SIZE),
    offset: z.number().int().min(0),
  })
  .meta({ id: 'ProductPage' });

/** `GET /products`'s query. */
const SearchQuerySchema = z.object({
  category: z.string().max(50).optional().meta({ description: 'Only products in this category.' }),
  q: z
    .string()
    .max(100)
    .optional()
    .meta({ description: 'Case-insensitive text searched for in name and description.' }),
  skus: z
    .string()
    .transform((raw) =>
      raw
        .split(',')
        .map((sku) => sku.trim())
        .filter(Boolean),
    )
    .pipe(z.array(Sku).min(1).max(MAX_PAGE_SIZE))
    .optional()
    .meta({
      description:
        'Comma-separated SKUs: returns exactly those that exist (all of them, unless limit is set).',
    }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_SIZE)
    .optional()
    .meta({ description: `Page size; ${String(DEFAULT_PAGE_SIZE)} by default.` }),
  offset: z.coerce.number().int().min(0).max(10_000).default(0),
});

const ADMIN_NOTE =
  'Needs a bearer token of a user with the `admin` role (401 without a valid token, 403 ' +
  'without the role), checked before the body is read.';

/** Dependencies of the product routes. */
export interface ProductRoutesDeps {
  products: ProductsRepository;
  cache: ProductCache;
  catalogMetrics: CatalogMetrics;
  now?: () => Date;
}

/** GET /products, GET /products/:id, and the admin's POST /products and PUT /products/:id. */
export function productRoutes(routes: Routes, deps: ProductRoutesDeps): void {
  const { products, cache, catalogMetrics } = deps;
  const now = deps.now ?? (() => new Date());

  routes.get(
    '/products',
    {
      access: 'anonymous',
      summary: 'Search the catalogue, a page at a time (sorted by SKU)',
      query: SearchQuerySchema,
      responses: { 200: ProductPageSchema },
    },
    async (req, res) => {
      const query = resolveQuery(req.query);
      const page = await products.search(query);
      res.json({ items: page.items, total: page.total, limit: query.limit, offset: query.offset });
    },
  );

  routes.get(
    '/products/:id',
    {
      access: 'anonymous',
      summary: 'One product (served from the Redis cache when it is there)',
      params: z.object({ id: Id }),
      responses: { 200: ProductSchema, 404: 'problem' },
    },
    async (req, res) => {
      const { id } = req.params;
      const product = await cache.getOrLoad(
        id,
        async () => (await products.findById(id)) ?? undefined,
      );
      if (!product) throw productNotFound(id);
      res.json(product);
    },
  );

  routes.post(
    '/products',
    {
      access: 'admin',
      summary: 'Create a product (admin); publishes ProductUpdated',
      description: ADMIN_NOTE,
      body: ProductInputSchema,
      responses: { 201: ProductSchema, 401: 'problem', 403: 'problem', 409: 'problem' },
    },
    async (req, res) => {
      const product = createProduct(req.body, now());
      if (!(await products.create(product))) throw skuExists(product.sku);
      catalogMetrics.productsChanged('created');
      req.log.info(
        {
          productId: product.id,
          sku: product.sku,
          userId: actorOf(req),
        },
        'product created',
      );
      res.status(201).location(`/products/${product.id}`).json(product);
    },
  );

  routes.put(
    '/products/:id',
    {
      access: 'admin',
      summary: 'Replace a product (admin); publishes ProductUpdated when something changed',
      description: `${ADMIN_NOTE} The SKU cannot change (409 SKU_IMMUTABLE).`,
      params: z.object({ id: Id }),
      body: ProductReplacementSchema,
      responses: {
        200: ProductSchema,
        401: 'problem',
        403: 'problem',
        404: 'problem',
        409: 'problem',
      },
    },
    async (req, res) => {
      const { id } = req.params;
      const outcome = await products.update(id, (current) =>
        reviseProduct(current, req.body, now()),
      );
      switch (outcome.kind) {
        case 'not-found':
          throw productNotFound(id);
        case 'sku-changed':
          throw skuImmutable(outcome.current, outcome.requested);
        case 'conflict':
          throw concurrentUpdate(id);
        case 'unchanged':
          res.json(outcome.product);
          return;
        case 'revised':
          // After the write, so a read racing it cannot re-cache the old product for long:
          // at worst until the TTL (see the platform's cache-aside).
          await cache.invalidate(id);
          catalogMetrics.productsChanged('updated');
          req.log.info({ productId: id, userId: actorOf(req) }, 'product updated');
          res.json(outcome.product);
      }
    },
  );
}
