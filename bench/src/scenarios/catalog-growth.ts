import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { freePort } from '@emporium/harness';
import { createMongoClient } from '@emporium/platform';
import { catalogEnv, startApp } from '../fixtures.js';
import {
  attempt,
  growthChart,
  growthFactors,
  growthMeasurements,
  oneAtATime,
  openLoopPoint,
  openLoopTargets,
  sequentialPoint,
  sizeText,
  type GrowthPoint,
  type Sequential,
} from '../growth.js';
import type { VegetaTarget } from '../load/vegeta.js';
import type { Measurement } from '../results.js';
import type { Scenario } from '../scenario.js';
import { spread } from '../stats.js';

/** Products in the collection at each point of the curve; it grows from one to the next. */
const FULL_SIZES = [1000, 10_000, 100_000];
const SMOKE_SIZES = [100, 1000];

/** A database of its own, dropped at the end: see the note on why not catalogOff's. */
const DATABASE = 'catalog_growth';
/** FerretDB takes about 6000 inserted documents a second in batches of this size. */
const BATCH = 1000;

/**
 * The search: a word in one product name in ten ({@link product}), so every size ≥ 200 fills
 * the 20-item page and the response is the same size at every point; only the scan grows.
 */
const QUERY = 'grinder';
/** The search's open-loop rate, and the utilisation (rate × one search's time) it may load. */
const SEARCH_RATE = 2;
const MAX_UTILISATION = 0.5;
/**
 * The longest search sent to catalog. Its MongoDB client gives up on a reply after 30 s and
 * retries a read once, so a slower search is a 503 after a minute, while FerretDB goes on
 * scanning for the abandoned queries and slows whatever comes next; such a point is timed on
 * the database directly instead: the same two queries, and catalog's own share is milliseconds.
 */
const CATALOG_LIMIT_MS = 10_000;
/** When the search cannot be run open-loop: how many, and for how long at most, one at a time. */
const SEQUENTIAL = { full: { count: 5, seconds: 20 }, smoke: { count: 2, seconds: 10 } };
/** Reads by id: each of a different product, so each misses the Redis cache. */
const BY_ID_RATE = { full: 50, smoke: 20 };

/** A product as catalog stores it (products.repository.ts's ProductDocument). */
interface ProductDocument {
  _id: string;
  id: string;
  sku: string;
  name: string;
  description: string;
  priceMinor: number;
  currency: string;
  categories: string[];
  images: string[];
  updatedAt: string;
  version: number;
  /** Its ProductUpdated already relayed: the outbox emptied, nothing pending. */
  outbox: never[];
  outboxPending: number;
}

const MATERIALS = ['Oak', 'Walnut', 'Stoneware', 'Steel', 'Glass', 'Copper', 'Linen', 'Brass'];
/** Ten nouns: the searched one names one product in ten. */
const NOUNS = [
  'Mug',
  'Dripper',
  'Notebook',
  'Kettle',
  'Grinder',
  'Scale',
  'Tin',
  'Pen',
  'Tray',
  'Carafe',
];
const CATEGORIES = ['kitchen', 'coffee', 'stationery', 'gifts', 'tea'];

/** The `n`th generated product, shaped like the demo catalogue's (a sentence or two each). */
function product(n: number, updatedAt: string): ProductDocument {
  const id = randomUUID();
  const sku = `GRW-${String(n).padStart(7, '0')}`;
  const material = MATERIALS[n % MATERIALS.length] ?? 'Oak';
  const noun = NOUNS[n % NOUNS.length] ?? 'Mug';
  return {
    _id: id,
    id,
    sku,
    name: `${material} ${noun} No. ${String(n)}`,
    description: `A ${material.toLowerCase()} ${noun.toLowerCase()} made in a small workshop, finished by hand and sold with a two-year guarantee; series ${String(n % 97)}.`,
    priceMinor: 500 + ((n * 37) % 9500),
    currency: 'EUR',
    categories: [CATEGORIES[n % CATEGORIES.length] ?? 'kitchen'],
    images: [`/images/${sku}.jpg`],
    updatedAt,
    version: 0,
    outbox: [],
    outboxPending: 0,
  };
}

/** GETs of `/products/:id` for `ids`, in order. */
function byIdTargets(url: string, ids: readonly string[]): VegetaTarget[] {
  return ids.map((id) => ({ method: 'GET', url: `${url}/products/${id}` }));
}

/** Catalog search and read by id at 1k, 10k and 100k products: how cost grows with the catalogue. */
export const catalogGrowth: Scenario = {
  name: 'catalog-growth',
  pair: 'catalog `GET /products?q=` (search) and `GET /products/:id` at 1k, 10k and 100k products',
  needs: () => ['infra'],
  async run(context) {
    const { profile, log } = context;
    const sizes = profile.smoke ? SMOKE_SIZES : FULL_SIZES;
    const sequential = profile.smoke ? SEQUENTIAL.smoke : SEQUENTIAL.full;
    const byIdRate = profile.smoke ? BY_ID_RATE.smoke : BY_ID_RATE.full;
    const infra = await context.fixtures.get('infra');
    const client = createMongoClient({
      url: infra.mongoUrl,
      appName: 'bench-catalog-growth',
      // Longer than a service's 30 s: the search timed directly at 100k products may need it.
      socketTimeoutMs: 120_000,
    });
    const db = client.db(DATABASE);
    const products = db.collection<ProductDocument>('products');
    /**
     * catalog's search as products.repository.ts runs it (the escaped text as a case-insensitive
     * regex on name or description; the first page sorted by SKU, and the count, side by side),
     * timed once straight on the database.
     */
    const timeSearchQueries = async (): Promise<Sequential> => {
      const pattern = { $regex: QUERY, $options: 'i' };
      const filter = { $or: [{ name: pattern }, { description: pattern }] };
      const began = performance.now();
      try {
        await Promise.all([
          products
            .find(filter, { projection: { _id: 0, version: 0, outbox: 0, outboxPending: 0 } })
            .sort({ sku: 1 })
            .skip(0)
            .limit(20)
            .toArray(),
          products.countDocuments(filter),
        ]);
        const ms = performance.now() - began;
        return { ms: [ms], failures: [], seconds: ms / 1000 };
      } catch (err) {
        return {
          ms: [],
          failures: [err instanceof Error ? err.message : String(err)],
          seconds: (performance.now() - began) / 1000,
        };
      }
    };
    const ids: string[] = [];
    const updatedAt = new Date().toISOString();
    let seedSeconds = 0;
    const growTo = async (size: number): Promise<void> => {
      if (ids.length >= size) return;
      const began = performance.now();
      while (ids.length < size) {
        const batch: ProductDocument[] = [];
        for (let n = ids.length; n < Math.min(size, ids.length + BATCH); n++) {
          batch.push(product(n, updatedAt));
        }
        await products.insertMany(batch, { ordered: false });
        ids.push(...batch.map((d) => d.id));
      }
      seedSeconds += (performance.now() - began) / 1000;
      log(`  ${sizeText(size)} products (${seedSeconds.toFixed(1)} s of inserts so far)`);
    };

    let app: Awaited<ReturnType<typeof startApp>> | undefined;
    try {
      // catalog creates the collection's indexes (unique SKU, categories, outbox) as it
      // starts; the first inserts run meanwhile.
      const [started, seeded] = await Promise.allSettled([
        freePort().then((port) =>
          startApp('catalog', port, {
            ...catalogEnv(infra, false),
            MONGO_DATABASE: DATABASE,
            CATALOG_SEED: 'false',
            // Reads by id miss by construction; what they leave in Redis goes within a minute.
            CATALOG_CACHE_TTL_SECONDS: '60',
          }),
        ),
        growTo(sizes[0] ?? 0),
      ]);
      // Whichever failed, a catalog that did start is stopped by the finally below.
      if (started.status === 'fulfilled') app = started.value;
      if (started.status === 'rejected') throw started.reason;
      if (seeded.status === 'rejected') throw seeded.reason;
      const url = started.value.value.url;
      const points: GrowthPoint[] = [];
      const failures: string[] = [];
      const searchMethods: string[] = [];
      /** The last search point measured through catalog. */
      let last: GrowthPoint | undefined;
      let read = 0;
      for (const size of sizes) {
        await growTo(size);
        // Reads by id: every request a product not read before, so each is a cache miss and
        // a MongoDB lookup by `_id` (the one filter FerretDB serves from an index).
        const unread = (seconds: number): string[] => {
          const next = ids.slice(read, read + Math.ceil(byIdRate * seconds));
          read += next.length;
          return next;
        };
        const warmup = unread(profile.warmupSeconds);
        const measured = unread(profile.openLoopSeconds);
        const byIdLabel = `by id at ${sizeText(size)}`;
        const byId = await attempt(byIdLabel, failures, () =>
          openLoopTargets(
            context,
            byIdLabel,
            { warmup: byIdTargets(url, warmup), measured: byIdTargets(url, measured) },
            byIdRate,
          ),
        );
        if (byId) points.push(openLoopPoint('read by id', size, byIdRate, byId));
        else log(`  ${failures.at(-1) ?? byIdLabel}; point left out`);

        const searchUrl = `${url}/products?q=${QUERY}`;
        const at = `at ${sizeText(size)}`;
        const direct = async (why: string): Promise<void> => {
          const run = await timeSearchQueries();
          const point = sequentialPoint('search', size, run, 'database direct');
          if (point) points.push(point);
          failures.push(...run.failures.map((f) => `search ${at}, direct: ${f}`));
          const took = point ? `${(point.p50 / 1000).toFixed(1)} s` : 'failed too';
          searchMethods.push(
            `${at} catalog's two queries timed directly on FerretDB, once (${took}), because ${why}`,
          );
          log(`  search ${at}: ${why}; its queries direct: ${took}`);
        };
        // The scan is linear in products: the last point scaled says what this one will take.
        const predictedMs = last ? (last.p50 * size) / last.size : undefined;
        if (predictedMs !== undefined && predictedMs > CATALOG_LIMIT_MS) {
          await direct(
            `about ${(predictedMs / 1000).toFixed(0)} s predicted from ${sizeText(last?.size ?? 0)} products, too near catalog's 30 s limit`,
          );
          continue;
        }
        // One search alone first: if the rate would load catalog past half its time, the
        // open-loop run would measure the queue, so the point is measured one at a time.
        const probe = await oneAtATime(searchUrl, 1, 0);
        const probeMs = probe.ms[0];
        if (probeMs === undefined) {
          failures.push(...probe.failures.map((f) => `search ${at}: ${f}`));
          await direct(`catalog failed after ${probe.seconds.toFixed(1)} s`);
          continue;
        }
        if ((SEARCH_RATE * probeMs) / 1000 <= MAX_UTILISATION) {
          const result = await attempt(`search ${at}`, failures, () =>
            openLoopTargets(
              context,
              `search ${at}`,
              { warmup: [], measured: [{ method: 'GET', url: searchUrl }] },
              SEARCH_RATE,
            ),
          );
          if (result) {
            last = openLoopPoint('search', size, SEARCH_RATE, result);
            points.push(last);
            searchMethods.push(`${at} open-loop at ${String(SEARCH_RATE)} req/s`);
          } else log(`  ${failures.at(-1) ?? at}; point left out`);
          continue;
        }
        // The probe was such a request already; it counts.
        const rest = await oneAtATime(
          searchUrl,
          sequential.count - 1,
          Math.max(0, sequential.seconds - probe.seconds),
        );
        const run = {
          ms: [...probe.ms, ...rest.ms],
          failures: rest.failures,
          seconds: probe.seconds + rest.seconds,
        };
        failures.push(...run.failures.map((f) => `search ${at}: ${f}`));
        const point = sequentialPoint('search', size, run);
        if (point) {
          last = point;
          points.push(point);
          searchMethods.push(
            `${at} one at a time (${String(point.requests)} searches, ${point.throughput.toFixed(2)} searches/s)`,
          );
        }
        log(
          `  search ${at}: ${run.ms.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')} one at a time${run.failures.length > 0 ? `, ${String(run.failures.length)} failed (${run.failures[0] ?? ''})` : ''}`,
        );
      }

      if (points.length === 0) throw new Error(`no point measured: ${failures.join('; ')}`);
      const chart = await context.chart(
        'catalog-growth',
        await growthChart(
          'Catalog: latency by number of products',
          'products (log)',
          ['search', 'read by id'],
          points,
        ),
      );
      const measurements: Measurement[] = [
        ...growthMeasurements(points, { one: 'product', many: 'products' }),
        ...points
          .filter((p) => p.method === 'one at a time')
          .map((p): Measurement => ({
            name: `search throughput one at a time, ${sizeText(p.size)} products`,
            unit: 'searches/s',
            value: spread([p.throughput]),
          })),
        {
          name: 'inserts while seeding',
          unit: 'products/s',
          value: spread([ids.length / Math.max(seedSeconds, 1e-3)]),
        },
      ];
      return {
        measurements,
        notes: [
          `A catalog of its own (telemetry off, database \`${DATABASE}\` on the bench's FerretDB, dropped at the end) so the shared catalogOff keeps its 50 demo products: every SKU lookup (cart's pricing, orders') scans the collection, and FerretDB 1.24 cannot delete 100k documents in one deleteMany ("too many SQL variables").`,
          `Products inserted straight into catalog's collection in catalog's stored shape (\`_id\` = id, unique SKU, version, outbox already relayed), ${String(BATCH)} per insertMany, growing ${sizes.map(sizeText).join(' → ')}.`,
          `Search is \`GET /products?q=${QUERY}\` (one product name in ten matches; the page is 20): catalog runs a case-insensitive regex on name and description, sorted by SKU, and counts the matches; neither is cached, so each search is two queries on FerretDB. FerretDB 1.24 on SQLite pushes no regex (nor the sort, nor a count with a filter) down: every search reads and decodes every product twice. Growth of the search p50 per tenfold products: ${growthFactors(points, 'search')}.`,
          `Search measured ${searchMethods.join('; ')}. Open-loop only where one search takes under ${String((MAX_UTILISATION / SEARCH_RATE) * 1000)} ms (so ${String(SEARCH_RATE)} req/s loads catalog at most half the time); slower points one at a time, reporting the throughput one client got rather than a queue (p99 of a few is their slowest); a search that could pass ${String(CATALOG_LIMIT_MS / 1000)} s is not sent to catalog, whose MongoDB client gives up after 30 s and retries once (a 503 after a minute, FerretDB still scanning for it), but timed on the database.`,
          `Read by id is \`GET /products/:id\` of a different product each request at ${String(byIdRate)} req/s, open-loop: every read misses the Redis cache and is a MongoDB lookup by \`_id\`, which FerretDB serves from its index (patched), then a Redis SET; the flat reference. Growth of its p50 per tenfold products: ${growthFactors(points, 'read by id')}.`,
          `Chart: ${chart}.`,
          ...(failures.length > 0
            ? [`Failed: ${failures.map((f) => f.slice(0, 200)).join('; ')}`]
            : []),
        ],
      };
    } finally {
      await app?.stop();
      await db.dropDatabase().catch((err: unknown) => {
        log(`  could not drop ${DATABASE}: ${err instanceof Error ? err.message : String(err)}`);
      });
      await client.close();
    }
  },
};
