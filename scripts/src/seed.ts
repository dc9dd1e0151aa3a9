import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Binary, MongoClient, MongoServerError, ObjectId, type Document } from 'mongodb';
import { CliError, progress, runCli } from './cli.js';
import { STACK_PORTS } from './stack/ports.js';

const USAGE = `usage: npm run seed -- --orders N [--mongo URL] [--gateway URL] [--from ORDER_ID]
                     [--age D] [--batch N]
  --orders N      how many past orders to add (required)
  --mongo URL     the stack's MongoDB-compatible server (mongodb://127.0.0.1:${String(STACK_PORTS.mongodb)}/)
  --gateway URL   where to place the template order (http://127.0.0.1:${String(STACK_PORTS.gateway)})
  --from ID       clone this order (already SHIPPED) instead of placing a new one
  --age D         shift each clone's times back by up to D (30s, 90m, 12h, 30d); none by default
  --batch N       orders cloned per insertMany round (1000)
Every document of every database that contains the order's id is cloned N times, each clone
with every UUID in it replaced by a fresh one (consistently within the clone).`;

/** What the command line asked for. */
interface Options {
  orders: number;
  mongo: string;
  gateway: string;
  from: string | undefined;
  ageMs: number;
  batch: number;
}

/** Milliseconds per unit of `--age`. */
const AGE_UNITS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A UUID anywhere in a string (order ids, payment ids, event ids, `orders/<id>` subjects…). */
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const WHOLE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The same, for a test: a global regex would carry its lastIndex from one call to the next. */
const HAS_UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** An ISO 8601 time as the services write them; shifted with the clone's age. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Databases of the server itself, never a service's. */
const SYSTEM_DATABASES = new Set(['admin', 'config', 'local']);

function parseOptions(argv: readonly string[]): Options | 'help' {
  const options: Options = {
    orders: 0,
    mongo: `mongodb://127.0.0.1:${String(STACK_PORTS.mongodb)}/`,
    gateway: `http://127.0.0.1:${String(STACK_PORTS.gateway)}`,
    from: undefined,
    ageMs: 0,
    batch: 1000,
  };
  const args = argv.flatMap((arg) => (/^--\w[\w-]*=/.test(arg) ? arg.split(/=(.*)/s, 2) : [arg]));
  for (let i = 0; i < args.length; i++) {
    const flag = args[i] ?? '';
    if (flag === '--help' || flag === '-h') return 'help';
    const value = args[i + 1];
    if (value === undefined || value.startsWith('--')) {
      throw new CliError(`${flag} needs a value\n${USAGE}`);
    }
    i++;
    const number = Number(value);
    switch (flag) {
      case '--orders':
        if (!Number.isInteger(number) || number < 1) {
          throw new CliError(`--orders takes a whole number above 0, not ${value}`);
        }
        options.orders = number;
        break;
      case '--batch':
        if (!Number.isInteger(number) || number < 1 || number > 100_000) {
          throw new CliError(`--batch takes a whole number from 1 to 100000, not ${value}`);
        }
        options.batch = number;
        break;
      case '--mongo':
        if (!/^mongodb(\+srv)?:\/\//.test(value)) {
          throw new CliError(`--mongo takes a mongodb:// URL, not ${value}`);
        }
        options.mongo = value;
        break;
      case '--gateway':
        if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
          throw new CliError(`--gateway takes an http(s) URL, not ${value}`);
        }
        options.gateway = value.replace(/\/+$/, '');
        break;
      case '--from':
        if (!WHOLE_UUID.test(value)) throw new CliError(`--from takes an order id, not ${value}`);
        options.from = value.toLowerCase();
        break;
      case '--age': {
        const match = /^(\d+)(s|m|h|d)$/.exec(value);
        if (!match) throw new CliError(`--age takes a duration like 12h or 30d, not ${value}`);
        options.ageMs = Number(match[1]) * AGE_UNITS[match[2] as keyof typeof AGE_UNITS];
        break;
      }
      default:
        throw new CliError(`unknown flag ${flag}\n${USAGE}`);
    }
  }
  if (options.orders === 0) throw new CliError(`--orders is required\n${USAGE}`);
  return options;
}

/** JSON over HTTP to the gateway; the body of a 2xx, else a CliError naming the step. */
async function call(
  url: string,
  what: string,
  init: { method?: string; token?: string; body?: unknown } = {},
): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? 'GET',
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new CliError(
      `${what}: the gateway does not answer (${error instanceof Error ? error.message : String(error)}); ` +
        'start the stack with `npm start`, or give an order with --from',
    );
  }
  const text = await response.text();
  if (!response.ok) {
    throw new CliError(`${what}: HTTP ${String(response.status)} ${text.slice(0, 200)}`);
  }
  return text.length > 0 ? (JSON.parse(text) as unknown) : undefined;
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/**
 * Places one order through the gateway, as a shopper would, and waits until the saga has
 * finished with it: the real services write every document a real order has, in their own
 * current shapes, so this script never needs to know them. Returns the order id once SHIPPED.
 */
async function placeTemplateOrder(gateway: string): Promise<string> {
  const token = field(
    await call(`${gateway}/dev/token`, 'token', { method: 'POST', body: { user: 'seed' } }),
    'access_token',
  );
  if (typeof token !== 'string') throw new CliError('token: the dev issuer answered no token');
  const list = field(await call(`${gateway}/api/products?limit=50`, 'products'), 'items');
  const skus = (Array.isArray(list) ? list : [])
    .map((item) => field(item, 'sku'))
    .filter((sku): sku is string => typeof sku === 'string');
  // A payment may be declined (CANCELLED) and a product may be out of stock: try a few.
  for (let attempt = 0; attempt < Math.min(5, skus.length); attempt++) {
    const sku = skus[attempt] ?? '';
    await call(`${gateway}/api/cart`, 'empty the cart', { method: 'DELETE', token });
    await call(`${gateway}/api/cart/lines/${encodeURIComponent(sku)}`, 'add to the cart', {
      method: 'PUT',
      token,
      body: { quantity: 1 },
    });
    let orderId: unknown;
    try {
      orderId = field(
        await call(`${gateway}/api/orders`, 'checkout', { method: 'POST', token }),
        'orderId',
      );
    } catch (error) {
      if (error instanceof CliError && error.message.includes(' HTTP 409 ')) continue;
      throw error;
    }
    if (typeof orderId !== 'string') throw new CliError('checkout: no order id in the answer');
    progress('seed', `placed order ${orderId}; waiting for it to be SHIPPED`);
    const deadline = performance.now() + 120_000;
    while (performance.now() < deadline) {
      const status = field(
        await call(`${gateway}/api/orders/${orderId}`, 'read the order', { token }),
        'status',
      );
      if (status === 'SHIPPED') return orderId;
      if (status === 'CANCELLED') break;
      await sleep(500);
    }
    progress('seed', `order ${orderId} did not ship; trying another`);
  }
  throw new CliError('could not get an order SHIPPED through the stack; is the saga running?');
}

/** A document's address: database, collection and `_id`. */
interface Found {
  db: string;
  collection: string;
  doc: Document;
}

const isPlain = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);

/** A BSON UUID (binary subtype 4) as its canonical string. */
function binaryUuid(value: Binary): string | undefined {
  if (value.sub_type !== Binary.SUBTYPE_UUID || value.length() !== 16) return undefined;
  const hex = Buffer.from(value.buffer).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Whether `id` occurs anywhere in `value`: a string (or part of one), a key or a BSON UUID. */
function contains(value: unknown, id: string): boolean {
  if (typeof value === 'string') return value.toLowerCase().includes(id);
  if (value instanceof Binary) return binaryUuid(value) === id;
  if (Array.isArray(value)) return value.some((item) => contains(item, id));
  if (isPlain(value)) {
    return Object.entries(value).some(
      ([key, item]) => key.toLowerCase().includes(id) || contains(item, id),
    );
  }
  return false;
}

/** Every document of every service database that contains `orderId`, by a full scan. */
async function findOrderDocuments(client: MongoClient, orderId: string): Promise<Found[]> {
  const found: Found[] = [];
  const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
  for (const { name } of databases) {
    if (SYSTEM_DATABASES.has(name)) continue;
    const db = client.db(name);
    const collections = await db.listCollections({}, { nameOnly: true }).toArray();
    for (const { name: collection } of collections) {
      if (collection.startsWith('system.')) continue;
      // No field is known, so no filter can be pushed down: every document is looked at.
      for await (const doc of db.collection(collection).find({}, { batchSize: 1000 })) {
        if (contains(doc, orderId)) found.push({ db: name, collection, doc });
      }
    }
  }
  return found;
}

/** One clone's replacements: every UUID and ObjectId `_id` of the template, renewed. */
class CloneIds {
  private readonly uuids = new Map<string, string>();
  private readonly objectIds = new Map<string, ObjectId>();

  constructor(private readonly shiftMs: number) {}

  uuid(old: string): string {
    const key = old.toLowerCase();
    let fresh = this.uuids.get(key);
    if (fresh === undefined) {
      fresh = randomUUID();
      this.uuids.set(key, fresh);
    }
    return old === key ? fresh : fresh.toUpperCase();
  }

  objectId(old: ObjectId): ObjectId {
    const key = old.toHexString();
    let fresh = this.objectIds.get(key);
    if (fresh === undefined) {
      fresh = new ObjectId();
      this.objectIds.set(key, fresh);
    }
    return fresh;
  }

  text(value: string): string {
    const renamed = value.replace(UUID, (match) => this.uuid(match));
    if (this.shiftMs === 0 || !ISO_TIME.test(renamed)) return renamed;
    return new Date(Date.parse(renamed) - this.shiftMs).toISOString();
  }

  /** A deep copy of `value` with the replacements applied. */
  clone(value: unknown, templateObjectIds: ReadonlySet<string>): unknown {
    if (typeof value === 'string') return this.text(value);
    if (value instanceof Date) return new Date(value.getTime() - this.shiftMs);
    if (value instanceof ObjectId) {
      // Only the template's own `_id`s (and references to them) are per order.
      return templateObjectIds.has(value.toHexString()) ? this.objectId(value) : value;
    }
    if (value instanceof Binary) {
      const uuid = binaryUuid(value);
      return uuid === undefined
        ? value
        : new Binary(Buffer.from(this.uuid(uuid).replaceAll('-', ''), 'hex'), Binary.SUBTYPE_UUID);
    }
    if (Array.isArray(value)) return value.map((item) => this.clone(item, templateObjectIds));
    if (isPlain(value)) {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [
          key.replace(UUID, (match) => this.uuid(match)),
          this.clone(item, templateObjectIds),
        ]),
      );
    }
    // Numbers, booleans, null and other BSON values (Long, Decimal128…) are immutable.
    return value;
  }
}

/**
 * Whether a document found is the order's own (cloning it gives a new document) rather than a
 * shared one that mentions the order (a stock level listing its reservations), whose `_id`
 * would stay the same and whose clone would only collide or duplicate shared state.
 */
function perOrder(doc: Document): boolean {
  const id: unknown = doc._id;
  return id instanceof ObjectId || (typeof id === 'string' && HAS_UUID.test(id));
}

const where = (found: Found): string =>
  `${found.db}.${found.collection} ${JSON.stringify(String(found.doc._id))}`;

/** Waits until the order's documents stop changing (the outbox marked sent, the last notification written). */
async function settled(client: MongoClient, orderId: string, first: Found[]): Promise<Found[]> {
  let current = first;
  for (let attempt = 0; attempt < 10; attempt++) {
    await sleep(1000);
    const again = await findOrderDocuments(client, orderId);
    const same = (a: Found[], b: Found[]): boolean =>
      a.length === b.length &&
      a.every((found, i) => JSON.stringify(found) === JSON.stringify(b[i]));
    if (same(current, again)) return again;
    current = again;
  }
  progress('seed', "the order's documents kept changing for 10 s; cloning them as they are now");
  return current;
}

// `npm run seed`: N past orders' worth of history in the running stack's databases, cloned
// from one real order, so load runs can start from a store that has seen a lot of trade.
runCli('seed', async () => {
  const options = parseOptions(process.argv.slice(2));
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const client = new MongoClient(options.mongo, { serverSelectionTimeoutMS: 5000 });
  try {
    try {
      await client.db('admin').command({ ping: 1 });
    } catch {
      throw new CliError(
        `no MongoDB server answers at ${options.mongo}: start the stack with \`npm start\``,
      );
    }
    const orderId = options.from ?? (await placeTemplateOrder(options.gateway));
    const began = performance.now();
    const first = await findOrderDocuments(client, orderId);
    // An order given with --from is taken as finished; one placed just now may still be
    // settling (its outbox marked sent, its last notification written).
    const all = options.from === undefined ? await settled(client, orderId, first) : first;
    const scanSeconds = (performance.now() - began) / 1000;
    if (all.length === 0) {
      throw new CliError(`no document in ${options.mongo} contains the order id ${orderId}`);
    }
    for (const found of all.filter((f) => !perOrder(f.doc))) {
      progress('seed', `left alone: ${where(found)} mentions the order but is not one of its own`);
    }
    let template = all.filter((f) => perOrder(f.doc));
    const templateObjectIds = new Set(
      template.flatMap((f) => (f.doc._id instanceof ObjectId ? [f.doc._id.toHexString()] : [])),
    );
    progress(
      'seed',
      `order ${orderId}: ${String(template.length)} documents in ` +
        `${[...new Set(template.map((f) => `${f.db}.${f.collection}`))].sort().join(', ')} ` +
        `(found in ${scanSeconds.toFixed(1)} s)`,
    );

    /** The documents of `count` clones, grouped by collection. */
    const cloneBatch = (count: number): Map<string, { found: Found; docs: Document[] }> => {
      const groups = new Map<string, { found: Found; docs: Document[] }>();
      for (let i = 0; i < count; i++) {
        const ids = new CloneIds(Math.floor(Math.random() * options.ageMs));
        for (const found of template) {
          const key = `${found.db}.${found.collection}`;
          const group = groups.get(key) ?? { found, docs: [] };
          groups.set(key, group);
          group.docs.push(ids.clone(found.doc, templateObjectIds) as Document);
        }
      }
      return groups;
    };

    // The first clone goes in one document at a time: a document that collides (a unique
    // index the scan could not know about) is dropped from the template, with a word, rather
    // than failing 100 000 times.
    const start = performance.now();
    let documents = 0;
    for (const [, { found, docs }] of cloneBatch(1)) {
      for (const doc of docs) {
        try {
          await client.db(found.db).collection(found.collection).insertOne(doc);
          documents++;
        } catch (error) {
          if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
          progress('seed', `left alone: a clone of ${where(found)} collides (${error.message})`);
          template = template.filter((f) => f !== found);
        }
      }
    }
    let done = 1;
    let reported = performance.now();
    while (done < options.orders) {
      const count = Math.min(options.batch, options.orders - done);
      // Databases are separate files on FerretDB's SQLite backend: writing them side by side
      // overlaps their work.
      await Promise.all(
        [...cloneBatch(count)].map(async ([, { found, docs }]) => {
          await client
            .db(found.db)
            .collection(found.collection)
            .insertMany(docs, { ordered: false });
          documents += docs.length;
        }),
      );
      done += count;
      if (performance.now() - reported > 5000 || done === options.orders) {
        reported = performance.now();
        const seconds = (reported - start) / 1000;
        progress(
          'seed',
          `${String(done)}/${String(options.orders)} orders (${String(documents)} documents), ` +
            `${(done / seconds).toFixed(0)} orders/s`,
        );
      }
    }
    const seconds = (performance.now() - start) / 1000;
    process.stdout.write(
      `seeded ${String(done)} orders (${String(documents)} documents) cloned from ${orderId} in ` +
        `${seconds.toFixed(1)} s: ${(done / seconds).toFixed(0)} orders/s, ` +
        `${(documents / seconds).toFixed(0)} documents/s\n`,
    );
  } finally {
    await client.close();
  }
});
