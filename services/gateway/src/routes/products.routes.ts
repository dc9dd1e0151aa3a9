import { Id, ProductInputSchema, ProductReplacementSchema, Sku } from '@emporium/contracts';
import type { Routes } from '@emporium/platform';
import { z } from 'zod';
import type { GatewayMetrics } from '../gateway.metrics.js';
import { identityHeaders, type Upstreams } from '../gateways/upstreams.gateway.js';
import { callerOf, requireCaller } from './edge.middleware.js';
import { sendUpstream } from './forward.js';
import { ProductPageSchema, ProductSchema, ProductViewSchema, StockSchema } from './schemas.js';

/** The query of a product search, checked here so a bad one never reaches the catalog. */
const ProductQuery = z.object({
  category: z.string().min(1).max(50).optional(),
  q: z.string().min(1).max(100).optional(),
  skus: z
    .string()
    .regex(
      /^[A-Z0-9][A-Z0-9-]{1,39}(,[A-Z0-9][A-Z0-9-]{1,39}){0,99}$/,
      'expected SKUs, comma-separated',
    )
    .optional(),
  limit: z.coerce.number().int().min(1).max(100).optional(),
  offset: z.coerce.number().int().min(0).optional(),
});

const ANONYMOUS = 'Anonymous access allowed.';
const ADMIN =
  'Needs a bearer token with the `admin` role (401 without a valid token, 403 without the role).';

/** Catalog browsing, the product page, and the admin writes of catalog and stock. */
export function productRoutes(routes: Routes, upstreams: Upstreams, metrics: GatewayMetrics): void {
  routes.get(
    '/api/products',
    {
      access: 'anonymous',
      summary: 'Search products',
      description: ANONYMOUS,
      query: ProductQuery,
      responses: { 200: ProductPageSchema, 401: 'problem', 429: 'problem' },
    },
    async (req, res) => {
      const upstream = await upstreams.catalog.request({
        method: 'GET',
        path: '/products',
        query: { ...req.query },
        headers: identityHeaders(callerOf(req)),
      });
      sendUpstream(res, upstream);
    },
  );

  routes.get(
    '/api/products/:id',
    {
      access: 'anonymous',
      summary: 'One product',
      description: ANONYMOUS,
      params: z.object({ id: Id }),
      responses: { 200: ProductSchema, 401: 'problem', 404: 'problem', 429: 'problem' },
    },
    async (req, res) => {
      const upstream = await upstreams.catalog.request({
        method: 'GET',
        path: `/products/${encodeURIComponent(req.params.id)}`,
        headers: identityHeaders(callerOf(req)),
      });
      sendUpstream(res, upstream);
    },
  );

  routes.get(
    '/api/products/:id/page',
    {
      access: 'anonymous',
      summary: 'The product page: the product and its stock',
      description: `${ANONYMOUS} \`stock\` is null when inventory cannot answer right now; the page still loads.`,
      params: z.object({ id: Id }),
      responses: { 200: ProductViewSchema, 401: 'problem', 404: 'problem', 429: 'problem' },
    },
    async (req, res) => {
      const product = await upstreams.catalog.request({
        method: 'GET',
        path: `/products/${encodeURIComponent(req.params.id)}`,
        headers: identityHeaders(callerOf(req)),
      });
      if (!product.ok) {
        sendUpstream(res, product);
        return;
      }
      const parsed = ProductSchema.parse(product.body);
      let stock: { available: number } | null;
      try {
        // Short and not retried: the page must not wait on an inventory that is struggling.
        const answer = await upstreams.inventory.request({
          method: 'GET',
          path: `/stock/${encodeURIComponent(parsed.sku)}`,
          timeoutMs: 800,
          idempotent: false,
        });
        // No stock record means nothing to sell yet, which is an answer, not an outage.
        if (answer.status === 404) stock = { available: 0 };
        else if (answer.ok) stock = { available: StockSchema.parse(answer.body).available };
        else stock = null;
      } catch (error) {
        req.log.warn({ err: error }, 'inventory unavailable; product page without stock');
        stock = null;
      }
      if (stock === null) metrics.productPagesDegraded.inc();
      res.json({ product: parsed, stock });
    },
  );

  routes.post(
    '/api/products',
    {
      access: 'admin',
      summary: 'Create a product (admin)',
      description: ADMIN,
      body: ProductInputSchema,
      responses: {
        201: ProductSchema,
        401: 'problem',
        403: 'problem',
        409: { description: 'SKU_EXISTS: a product with this SKU exists (catalog’s answer).' },
        429: 'problem',
      },
    },
    async (req, res) => {
      const upstream = await upstreams.catalog.request({
        method: 'POST',
        path: '/products',
        body: req.body,
        headers: identityHeaders(requireCaller(req)),
      });
      const location =
        upstream.ok && upstream.status === 201
          ? `/api/products/${encodeURIComponent(ProductSchema.parse(upstream.body).id)}`
          : undefined;
      sendUpstream(res, upstream, location);
    },
  );

  routes.put(
    '/api/products/:id',
    {
      access: 'admin',
      summary: 'Update a product (admin)',
      description: ADMIN,
      params: z.object({ id: Id }),
      body: ProductReplacementSchema,
      responses: {
        200: ProductSchema,
        401: 'problem',
        403: 'problem',
        404: 'problem',
        409: {
          description:
            'SKU_IMMUTABLE: the SKU cannot change; CONCURRENT_UPDATE: another write came first (catalog’s answers).',
        },
        429: 'problem',
      },
    },
    async (req, res) => {
      const upstream = await upstreams.catalog.request({
        method: 'PUT',
        path: `/products/${encodeURIComponent(req.params.id)}`,
        body: req.body,
        headers: identityHeaders(requireCaller(req)),
      });
      sendUpstream(res, upstream);
    },
  );

  routes.put(
    '/api/stock/:sku',
    {
      access: 'admin',
      summary: "Set a sku's available stock (admin)",
      description: ADMIN,
      params: z.object({ sku: Sku }),
      body: z.object({ available: z.int().min(0).max(1_000_000_000) }),
      responses: { 200: StockSchema, 401: 'problem', 403: 'problem', 429: 'problem' },
    },
    async (req, res) => {
      const upstream = await upstreams.inventory.request({
        method: 'PUT',
        path: `/stock/${encodeURIComponent(req.params.sku)}`,
        body: req.body,
        headers: identityHeaders(requireCaller(req)),
      });
      sendUpstream(res, upstream);
    },
  );
}
