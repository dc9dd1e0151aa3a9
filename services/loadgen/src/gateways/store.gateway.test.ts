import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { freePort } from '@emporium/harness';
import { storeGateway } from './store.gateway.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A server that records requests; `/hang` never answers, `/problem` is a 409 problem. */
async function startServer(received: Received[]): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url?.endsWith('/hang')) return;
      if (req.url?.endsWith('/problem')) {
        res.writeHead(409, { 'content-type': 'application/problem+json' });
        res.end(JSON.stringify({ status: 409, code: 'CART_EMPTY' }));
        return;
      }
      if (req.url?.endsWith('/text')) {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<h1>bad gateway</h1>');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ ok: true }));
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${String(port)}`, server };
}

describe('store gateway client', () => {
  const received: Received[] = [];
  let server: Server;
  let url: string;

  before(async () => {
    ({ server, url } = await startServer(received));
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    received.length = 0;
  });

  it('sends JSON with the bearer token only on signed-in steps, under the base path', async () => {
    const store = storeGateway({ baseUrl: `${url}/edge/`, tokenUrl: `${url}/t`, timeoutMs: 2000 });
    const put = await store.send(
      {
        step: 'add-to-cart',
        method: 'PUT',
        path: '/api/cart/lines/MUG-1',
        body: { quantity: 2 },
        auth: true,
      },
      'tok-1',
    );
    const browse = await store.send(
      { step: 'browse', method: 'GET', path: '/api/products?limit=2', auth: false },
      'tok-1',
    );
    assert.deepEqual(put, { status: 200, body: { ok: true } });
    assert.equal(browse.status, 200);
    const [first, second] = received;
    assert.ok(first && second);
    assert.equal(first.url, '/edge/api/cart/lines/MUG-1');
    assert.equal(first.method, 'PUT');
    assert.equal(first.headers.authorization, 'Bearer tok-1');
    assert.equal(first.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(first.body), { quantity: 2 });
    assert.equal(second.url, '/edge/api/products?limit=2');
    assert.equal(second.headers.authorization, undefined, 'browsing is anonymous');
  });

  it('asks the token URL for a user', async () => {
    const store = storeGateway({ baseUrl: url, tokenUrl: `${url}/dev/token`, timeoutMs: 2000 });
    assert.equal((await store.token('alice')).status, 200);
    const [request] = received;
    assert.ok(request);
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/dev/token');
    assert.deepEqual(JSON.parse(request.body), { user: 'alice' });
  });

  it("reads a problem's code, and tolerates a body that is not JSON", async () => {
    const store = storeGateway({ baseUrl: url, tokenUrl: url, timeoutMs: 2000 });
    const conflict = await store.send(
      { step: 'checkout', method: 'POST', path: '/problem', auth: true },
      't',
    );
    assert.deepEqual(conflict, {
      status: 409,
      body: { status: 409, code: 'CART_EMPTY' },
      code: 'CART_EMPTY',
    });
    const html = await store.send({ step: 'browse', method: 'GET', path: '/text', auth: false });
    assert.deepEqual(html, { status: 502, body: undefined });
  });

  it('gives up after the timeout, and reports a refused connection, as no answer (status 0)', async () => {
    const store = storeGateway({ baseUrl: url, tokenUrl: url, timeoutMs: 200 });
    const started = performance.now();
    const hung = await store.send({ step: 'browse', method: 'GET', path: '/hang', auth: false });
    const waited = performance.now() - started;
    assert.deepEqual(hung, { status: 0, body: undefined, failure: 'timeout' });
    assert.ok(waited >= 190 && waited < 1500, String(waited));

    const closed = await freePort();
    const refused = storeGateway({
      baseUrl: `http://127.0.0.1:${String(closed)}`,
      tokenUrl: `http://127.0.0.1:${String(closed)}/dev/token`,
      timeoutMs: 2000,
    });
    assert.deepEqual(await refused.token('bob'), {
      status: 0,
      body: undefined,
      failure: 'ECONNREFUSED',
    });
  });
});
