import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { json, problem, startHttpStub } from './http-stub.js';

describe('startHttpStub', () => {
  it('routes by method and path, passes :params, query and body, and records every call', async () => {
    const stub = await startHttpStub({
      'GET /carts/:userId/lines/:sku': ({ params, query }, res) => {
        json(res, 200, { ...params, limit: query.get('limit') }, { 'x-stub': 'yes' });
      },
      'POST /orders': ({ body }, res) => {
        json(res, 202, { echoed: body }, { location: '/orders/o-1' });
      },
    });
    try {
      const line = await fetch(`${stub.url}/carts/u%201/lines/MUG-1?limit=5`, {
        headers: { 'x-user-id': 'alice' },
      });
      assert.equal(line.status, 200);
      assert.equal(line.headers.get('content-type'), 'application/json');
      assert.equal(line.headers.get('x-stub'), 'yes');
      assert.deepEqual(await line.json(), { userId: 'u 1', sku: 'MUG-1', limit: '5' });

      const placed = await fetch(`${stub.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'alice' }),
      });
      assert.equal(placed.status, 202);
      assert.equal(placed.headers.get('location'), '/orders/o-1');
      assert.deepEqual(await placed.json(), { echoed: { userId: 'alice' } });

      const text = await fetch(`${stub.url}/orders`, { method: 'POST', body: 'not json' });
      assert.deepEqual(await text.json(), { echoed: 'not json' });

      // Unrouted: a method the path lacks, a longer path, an unknown path.
      for (const [method, path] of [
        ['DELETE', '/orders'],
        ['GET', '/carts/u-1/lines/MUG-1/extra'],
        ['GET', '/nowhere'],
      ] as const) {
        const missing = await fetch(`${stub.url}${path}`, { method });
        assert.equal(missing.status, 404, `${method} ${path}`);
        assert.equal(missing.headers.get('content-type'), 'application/problem+json');
        assert.equal(((await missing.json()) as { code: string }).code, 'NOT_FOUND');
      }

      assert.deepEqual(
        stub.calls.map((call) => [call.method, call.path, call.url, call.body]),
        [
          ['GET', '/carts/u%201/lines/MUG-1', '/carts/u%201/lines/MUG-1?limit=5', undefined],
          ['POST', '/orders', '/orders', { userId: 'alice' }],
          ['POST', '/orders', '/orders', 'not json'],
          ['DELETE', '/orders', '/orders', undefined],
          ['GET', '/carts/u-1/lines/MUG-1/extra', '/carts/u-1/lines/MUG-1/extra', undefined],
          ['GET', '/nowhere', '/nowhere', undefined],
        ],
      );
      assert.equal(stub.calls[0]?.headers['x-user-id'], 'alice');
    } finally {
      await stub.stop();
    }
  });

  it('answers problems shaped like the platform’s, with extensions and headers', async () => {
    const stub = await startHttpStub((_req, res) => {
      problem(res, 409, 'INSUFFICIENT_STOCK', { skus: ['MUG-1'] }, { 'retry-after': '7' });
    });
    try {
      const response = await fetch(stub.url);
      assert.equal(response.status, 409);
      assert.equal(response.headers.get('content-type'), 'application/problem+json');
      assert.equal(response.headers.get('retry-after'), '7');
      assert.deepEqual(await response.json(), {
        type: 'urn:emporium:problem:insufficient-stock',
        title: 'Conflict',
        status: 409,
        detail: 'INSUFFICIENT_STOCK',
        code: 'INSUFFICIENT_STOCK',
        skus: ['MUG-1'],
      });
    } finally {
      await stub.stop();
    }
  });

  it('a handler may be slow or drop the connection; one that throws answers 500', async () => {
    let mode: 'slow' | 'drop' | 'throw' = 'slow';
    const stub = await startHttpStub(async (_req, res) => {
      if (mode === 'drop') {
        res.destroy();
        return;
      }
      if (mode === 'throw') throw new Error('bad fixture');
      await sleep(300);
      json(res, 200, { late: true });
    });
    try {
      const started = Date.now();
      assert.deepEqual(await (await fetch(stub.url)).json(), { late: true });
      assert.ok(Date.now() - started >= 250);

      mode = 'drop';
      await assert.rejects(fetch(stub.url), TypeError);

      mode = 'throw';
      const thrown = await fetch(stub.url);
      assert.equal(thrown.status, 500);
      const body = (await thrown.json()) as { code: string; detail: string };
      assert.equal(body.code, 'STUB_FAILED');
      assert.match(body.detail, /bad fixture/);
      assert.equal(stub.calls.length, 3);
    } finally {
      await stub.stop();
    }
  });

  it('stop() closes kept-alive connections and frees the port', async () => {
    const stub = await startHttpStub((_req, res) => {
      json(res, 200, {});
    });
    // fetch keeps the connection alive; stop() must not wait for it to idle out.
    assert.equal((await fetch(stub.url)).status, 200);
    const started = Date.now();
    await stub.stop();
    assert.ok(Date.now() - started < 1_000);
    await assert.rejects(fetch(stub.url), TypeError);
  });
});
