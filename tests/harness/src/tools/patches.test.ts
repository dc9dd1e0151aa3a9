import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MongoClient, type Document } from 'mongodb';
import { startMongo } from '../components/mongo.js';
import { tempDir } from '../process.js';
import { patchesDigest, toolDir, toolVersions } from './catalogue.js';
import { applyPatches } from './provision.js';
import { ToolError } from './run.js';

describe('patched tools', () => {
  it('builds a patched tool into its own cache folder, named after the patches', async () => {
    const { patches } = toolVersions().ferretdb;
    assert.ok(patches.length > 0);
    const digest = patchesDigest(patches).slice(0, 8);
    assert.match(toolDir('ferretdb'), new RegExp(`ferretdb-1\\.24\\.\\d+-p${digest}$`));

    const dir = await tempDir('patches');
    try {
      const file = join(dir, 'fix.patch');
      await writeFile(file, 'one\n');
      const before = patchesDigest([file]);
      await writeFile(file, 'two\n');
      assert.notEqual(patchesDigest([file]), before);
      assert.throws(
        () => patchesDigest([join(dir, 'missing.patch')]),
        (err: unknown) => err instanceof ToolError && err.message.includes('missing.patch'),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails naming a patch that does not apply, and changes nothing', async () => {
    const dir = await tempDir('patches');
    try {
      const src = join(dir, 'src');
      await mkdir(src);
      await writeFile(join(src, 'a.txt'), 'one\ntwo\n');
      await writeFile(join(src, 'b.txt'), 'three\n');
      // The first hunk applies, the second does not: nothing may be left half-applied.
      const bad = join(dir, 'stale.patch');
      await writeFile(
        bad,
        [
          'Why: a test.',
          '',
          '--- a/a.txt',
          '+++ b/a.txt',
          '@@ -1,2 +1,2 @@',
          ' one',
          '-two',
          '+TWO',
          '--- a/b.txt',
          '+++ b/b.txt',
          '@@ -1 +1 @@',
          '-four',
          '+FOUR',
          '',
        ].join('\n'),
      );
      await assert.rejects(applyPatches('ferretdb', [bad], src, join(dir, 'log')), (err) => {
        assert.ok(err instanceof ToolError);
        assert.match(err.message, /^ferretdb: patch .*stale\.patch does not apply/);
        return true;
      });
      assert.equal(await readFile(join(src, 'a.txt'), 'utf8'), 'one\ntwo\n');
      assert.equal(await readFile(join(src, 'b.txt'), 'utf8'), 'three\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('FerretDB finds {_id, other keys} through the _id index, and still applies the whole filter', async () => {
    const server = await startMongo();
    const client = new MongoClient(server.url, { serverSelectionTimeoutMS: 5000 });
    try {
      const db = client.db('patches');
      const orders = db.collection<{ _id: string; status: string; version: number }>('orders');
      await orders.insertMany(
        Array.from({ length: 200 }, (_, i) => ({
          _id: `order-${String(i)}`,
          status: 'PENDING',
          version: 1,
        })),
      );
      const explain = async (filter: Record<string, unknown>): Promise<Record<string, unknown>> =>
        db.command({ explain: { find: 'orders', filter }, verbosity: 'queryPlanner' });

      const filters = [
        { _id: 'order-42', version: 1 },
        { _id: 'order-42', $or: [{ status: 'PENDING' }, { status: 'PAID' }] },
        { _id: 'order-42' },
      ];
      // Upstream pushes down only a filter that is exactly {_id} (id-prefilter.patch)...
      for (const filter of filters) {
        const { filterPushdown } = await explain(filter);
        assert.equal(filterPushdown, true, `filterPushdown of ${JSON.stringify(filter)}`);
      }
      // ...and even then SQLite scans the table: its WHERE expression was not the index's
      // (id-index.patch).
      for (const filter of filters) {
        const { queryPlanner } = await explain(filter);
        assert.match(
          JSON.stringify(queryPlanner),
          /SEARCH \S+ USING INDEX \S+__id_ \(<expr>=\?\)/,
          `query plan of ${JSON.stringify(filter)}`,
        );
      }
      const scan = await explain({ status: 'PENDING' });
      assert.equal(scan.filterPushdown, false);
      assert.match(JSON.stringify(scan.queryPlanner), /SCAN/);

      // The pushed-down _id is only a prefilter: the other keys still decide.
      assert.deepEqual(await orders.find({ _id: 'order-42', version: 2 }).toArray(), []);
      assert.equal(
        (await orders.updateOne({ _id: 'order-42', version: 2 }, { $inc: { version: 1 } }))
          .matchedCount,
        0,
      );
      const updated = await orders.updateOne(
        { _id: 'order-42', version: 1 },
        { $inc: { version: 1 } },
      );
      assert.equal(updated.modifiedCount, 1);
      assert.deepEqual(await orders.findOne({ _id: 'order-42', version: 2 }), {
        _id: 'order-42',
        status: 'PENDING',
        version: 2,
      });
      assert.equal((await orders.deleteOne({ _id: 'order-43', status: 'PAID' })).deletedCount, 0);
      assert.equal(
        (await orders.deleteOne({ _id: 'order-43', status: 'PENDING' })).deletedCount,
        1,
      );
      assert.equal(await orders.countDocuments(), 199);
    } finally {
      await client.close();
      await server.stop();
    }
  });

  it("FerretDB finds {field: {$exists: true}} through the field's index (the outbox relay's query), and only the documents that have it", async () => {
    const server = await startMongo();
    const client = new MongoClient(server.url, { serverSelectionTimeoutMS: 5000 });
    try {
      const db = client.db('patches');
      const orders = db.collection('outbox');
      await orders.createIndex(
        { outboxPendingSince: 1 },
        { name: 'outbox_pending_since', sparse: true },
      );
      // Every kind of value a field can hold counts as "exists", a JSON null included; a field of
      // the same name in a nested document, or spelt differently, does not.
      const pending: Record<string, Document> = {
        'o-5': { outboxPendingSince: new Date('2026-11-30T10:00:00Z'), outboxPending: 2, g: 1 },
        'o-17': { outboxPendingSince: null, outboxPending: 1, g: 0 },
        'o-42': { outboxPendingSince: 0, outboxPending: 3, g: 1 },
        'o-99': { outboxPendingSince: { at: new Date(0) }, outboxPending: 4, g: 0 },
        'o-150': { outboxPendingSince: [], outboxPending: 5, g: 1 },
        'o-200': { outboxPendingSince: '', outboxPending: 6, g: 2 },
        'o-201': { outboxPendingSince: new Date('2026-11-30T09:00:00Z'), outboxPending: 7, g: 1 },
      };
      const docs: Document[] = Array.from({ length: 300 }, (_, i) => {
        const _id = `o-${String(i)}`;
        return { _id, g: i % 3, outboxPending: 0, ...pending[_id] };
      });
      docs[7] = { ...docs[7], meta: { outboxPendingSince: new Date() } };
      docs[8] = { ...docs[8], outboxpendingsince: new Date(), OutboxPendingSince: 1 };
      await orders.insertMany(docs);

      const ids = async (filter: Document): Promise<string[]> =>
        (await orders.find(filter, { projection: { _id: 1 } }).toArray())
          .map((d) => String(d._id))
          .sort();
      const expected = (pred: (d: Document) => boolean): string[] =>
        docs
          .filter(pred)
          .map((d) => String(d._id))
          .sort();
      const has = (d: Document): boolean => 'outboxPendingSince' in d;
      const explain = async (
        command: Document,
      ): Promise<{ filterPushdown?: unknown; queryPlanner?: unknown }> =>
        db.command({ explain: command, verbosity: 'queryPlanner' });
      const indexSearch = /SEARCH \S+ USING INDEX \S+_outbox_pending_since \(<expr>>\?\)/;

      const exists = { outboxPendingSince: { $exists: true } };
      assert.deepEqual(await ids(exists), Object.keys(pending).sort());
      assert.deepEqual(await ids(exists), expected(has));

      // Pushed down (upstream pushes down nothing but {_id}), and through the index: SQLite plans
      // `IS NOT NULL` as a SCAN, the patch's `> ''` as a SEARCH.
      const found = await explain({ find: 'outbox', filter: exists });
      assert.equal(found.filterPushdown, true);
      assert.match(JSON.stringify(found.queryPlanner), indexSearch);

      // The relay's query: sorted (in Go) and limited after the pushed-down filter; the same as
      // FerretDB's unpatched path gives for it (the filter inside $and is not pushed down).
      const sort = { outboxPendingSince: 1, _id: 1 } as const;
      const unpushed = { $and: [exists] };
      assert.equal((await explain({ find: 'outbox', filter: unpushed })).filterPushdown, false);
      const relayed = await orders.find(exists, { sort, limit: 5 }).toArray();
      assert.equal(relayed.length, 5);
      assert.deepEqual(relayed, await orders.find(unpushed, { sort, limit: 5 }).toArray());
      assert.deepEqual(
        relayed.map((d) => d._id),
        ['o-150', 'o-17', 'o-42', 'o-200', 'o-99'], // [] first, as on MongoDB,
      );

      // The pending count: aggregate's first $match reaches the backend too.
      const pipeline = [
        { $match: exists },
        { $group: { _id: null, pending: { $sum: '$outboxPending' } } },
      ];
      assert.deepEqual(await orders.aggregate(pipeline).toArray(), [
        { _id: null, pending: 2 + 1 + 3 + 4 + 5 + 6 + 7 },
      ]);
      const aggregated = await explain({ aggregate: 'outbox', pipeline, cursor: {} });
      assert.equal(aggregated.filterPushdown, true);
      assert.match(JSON.stringify(aggregated.queryPlanner), indexSearch);
      assert.equal(await orders.countDocuments(exists), 7);

      // Other filters are left alone, and the whole filter still decides.
      for (const [filter, pred, pushdown] of [
        [{ outboxPendingSince: { $exists: false } }, (d) => !has(d), false],
        [{ outboxPendingSince: { $exists: true }, g: 1 }, (d) => has(d) && d.g === 1, true],
        [
          { outboxPendingSince: { $exists: true, $ne: null } },
          (d) => has(d) && d.outboxPendingSince !== null,
          false,
        ],
        [{ outboxPendingSince: { $exists: true }, _id: 'o-5' }, (d) => d._id === 'o-5', true],
        [{ outboxPendingSince: { $exists: true }, _id: 'o-6' }, () => false, true],
        [{ 'meta.outboxPendingSince': { $exists: true } }, (d) => d._id === 'o-7', false],
        [{ outboxpendingsince: { $exists: true } }, (d) => d._id === 'o-8', true],
      ] as [Document, (d: Document) => boolean, boolean][]) {
        const label = JSON.stringify(filter);
        assert.deepEqual(await ids(filter), expected(pred), label);
        assert.equal((await explain({ find: 'outbox', filter })).filterPushdown, pushdown, label);
      }

      // Without an index on the field: still pushed down and exact, a SCAN in SQLite.
      const plain = db.collection('plain');
      await plain.insertMany(docs);
      assert.deepEqual(
        (await plain.find(exists, { projection: { _id: 1 } }).toArray())
          .map((d) => String(d._id))
          .sort(),
        expected(has),
      );
      const scanned = await explain({ find: 'plain', filter: exists });
      assert.equal(scanned.filterPushdown, true);
      assert.match(JSON.stringify(scanned.queryPlanner), /SCAN/);
    } finally {
      await client.close();
      await server.stop();
    }
  });

  it('FerretDB computes every accumulator of a $group, not only the first', async () => {
    const server = await startMongo();
    const client = new MongoClient(server.url, { serverSelectionTimeoutMS: 5000 });
    try {
      const items = client.db('patches').collection('items');
      await items.insertMany([
        { k: 'a', x: 1, y: 10 },
        { k: 'a', x: 2, y: 20 },
        { k: 'b', x: 3, y: 30 },
      ]);
      assert.deepEqual(
        await items
          .aggregate([
            { $group: { _id: null, x: { $sum: '$x' }, y: { $sum: '$y' }, n: { $sum: 1 } } },
          ])
          .toArray(),
        [{ _id: null, x: 6, y: 60, n: 3 }],
      );
      assert.deepEqual(
        await items
          .aggregate([
            { $group: { _id: '$k', n: { $count: {} }, y: { $sum: '$y' } } },
            { $sort: { _id: 1 } },
          ])
          .toArray(),
        [
          { _id: 'a', n: 2, y: 30 },
          { _id: 'b', n: 1, y: 30 },
        ],
      );
    } finally {
      await client.close();
      await server.stop();
    }
  });
});
