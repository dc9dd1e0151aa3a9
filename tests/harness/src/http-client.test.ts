import assert from 'node:assert/strict';
import { call } from './http-client.js';
import { json, startHttpStub } from './http-stub.js';

describe('call', () => {
  it('sends JSON, parses the answer, and fails on a status other than the expected one', async () => {
    const stub = await startHttpStub({
      'POST /orders': ({ body }, res) => {
        json(res, 202, { echoed: body }, { location: '/orders/o-1' });
      },
      'DELETE /orders': (_req, res) => {
        res.writeHead(204).end();
      },
    });
    try {
      const placed = await call<{ echoed: unknown }>(`${stub.url}/orders`, {
        method: 'POST',
        body: JSON.stringify({ userId: 'alice' }),
        expect: 202,
      });
      assert.deepEqual(placed.body, { echoed: { userId: 'alice' } });
      assert.equal(placed.headers.get('location'), '/orders/o-1');
      assert.equal(stub.calls[0]?.headers['content-type'], 'application/json');

      const empty = await call(`${stub.url}/orders`, { method: 'DELETE' });
      assert.equal(empty.status, 204);
      assert.equal(empty.body, undefined);

      await assert.rejects(
        call(`${stub.url}/orders`, { method: 'DELETE', expect: 200 }),
        /DELETE .*\/orders/,
      );
    } finally {
      await stub.stop();
    }
  });
});
