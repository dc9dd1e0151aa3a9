import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { freePort, repoRoot, runNodeScript, type ScriptRun } from '@emporium/harness';

/** Runs `npm run load -- <args>` the way npm would (tsx over scripts/src/load.ts). */
function runLoad(args: string[], env: Record<string, string> = {}): Promise<ScriptRun> {
  const file = join(repoRoot(), 'scripts', 'src', 'load.ts');
  return runNodeScript(file, { HOME: process.env.HOME ?? '', ...env }, args);
}

/**
 * What the stand-in does with a checkout: refuse it (409, short stock), or accept it and show
 * the order PENDING for ever, or SHIPPED 250 ms after it was created.
 */
type Orders = 'refuse' | 'stuck' | 'ship';

/**
 * The smallest gateway a run can go through: /livez, and a catalog page with one product
 * whose every other answer the shoppers accept; checkout as `orders` says.
 */
async function startGateway(
  orders: Orders = 'refuse',
): Promise<{ url: string; server: Server; paths: string[] }> {
  const paths: string[] = [];
  let placed = 0;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    paths.push(`${req.method ?? ''} ${path}`);
    req.resume();
    const json = (status: number, body?: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const product = { id: 'p-1', sku: 'MUG-1', name: 'Ceramic Mug' };
    if (path === '/livez') json(200, { status: 'ok' });
    else if (path === '/dev/token') json(200, { access_token: 'tok', expires_in: 3600 });
    else if (path === '/api/products') json(200, { items: [product], total: 1 });
    else if (path.endsWith('/page')) json(200, { product, stock: { available: 1 } });
    else if (req.method === 'POST' && path === '/api/orders') {
      if (orders === 'refuse') json(409, { code: 'OUT_OF_STOCK' });
      else json(202, { orderId: `o-${String(++placed)}`, status: 'PENDING' });
    } else if (req.method === 'GET' && path.startsWith('/api/orders/')) {
      const created = '2026-11-30T12:00:00.000Z';
      const history = [{ status: 'PENDING', at: created }];
      if (orders === 'ship') history.push({ status: 'SHIPPED', at: '2026-11-30T12:00:00.250Z' });
      const status = history.at(-1)?.status;
      json(200, { orderId: path.split('/')[3], status, createdAt: created, history });
    } else json(200, {});
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${String(port)}`, server, paths };
}

describe('npm run load', () => {
  it('refuses a bad flag in one line, before anything starts', async () => {
    const run = await runLoad(['--rps', 'lots']);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'load: --rps takes a number above 0, not lots\n');
    const settle = await runLoad(['--settle', 'soon']);
    assert.equal(settle.code, 1);
    assert.equal(settle.stderr, 'load: --settle takes a duration like 60s or 5m, or 0, not soon\n');
  });

  it('says how to start the stack when the gateway does not answer', async () => {
    const port = await freePort();
    const run = await runLoad(['--gateway', `http://127.0.0.1:${String(port)}`]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      `load: the gateway at http://127.0.0.1:${String(port)} does not answer: start the stack with \`npm start\`\n`,
    );
  });

  describe('against a running gateway', () => {
    let gateway: Awaited<ReturnType<typeof startGateway>>;

    before(async () => {
      gateway = await startGateway();
    });

    after(async () => {
      gateway.server.closeAllConnections();
      await new Promise((resolve) => gateway.server.close(resolve));
    });

    it('runs loadgen for the duration and prints a table of the steps', async () => {
      const port = await freePort();
      const args = ['--gateway', gateway.url, '--port', String(port), '--duration', '2s'];
      // Every journey checks out (LOADGEN_* passes through), so a checkout row is certain.
      const run = await runLoad([...args, '--rps', '20', '--users', 'alice,bob'], {
        LOADGEN_CHECKOUT_RATIO: '1',
      });
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.split('\n');
      assert.match(
        lines[0] ?? '',
        /^step +requests +ok +business +429 +errors +p50 ms +p95 ms +p99 ms$/,
      );
      for (const step of ['token', 'browse', 'product', 'add-to-cart', 'checkout', 'total']) {
        assert.ok(
          lines.some((line) => line.startsWith(`${step} `)),
          `a ${step} row`,
        );
      }
      assert.match(run.stdout, /^achieved \d+\.\d\d rps of 20 over 2\.\d s/m);
      assert.match(run.stdout, /^orders placed: 0$/m);
      assert.match(run.stdout, /^business answers: checkout OUT_OF_STOCK ×\d+$/m);
      assert.match(
        run.stdout,
        /^orders: 0 placed; 0 final \(0 shipped, 0 cancelled\); 0 not final$/m,
      );
      assert.match(run.stdout, /^verdict: OK: no errors; no orders placed$/m);
      assert.ok(gateway.paths.includes('POST /dev/token'));
    });

    it("runs from the TypeScript sources alone, as in a fresh clone: no workspace's dist/ is imported", async () => {
      const port = await freePort();
      const hook = join(repoRoot(), 'scripts', 'src', 'fixtures', 'no-dist.mjs');
      const run = await runLoad(
        ['--gateway', gateway.url, '--port', String(port), '--duration', '1s', '--settle', '0'],
        // Both load.ts and the loadgen it starts inherit the hook.
        { NODE_OPTIONS: `--import ${hook}`, EMPORIUM_REPO_ROOT: repoRoot() },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.doesNotMatch(run.stderr, /built output/);
      assert.match(run.stdout, /^total +\d+/m);
    });

    it('with --json prints the summary as one JSON object', async () => {
      const port = await freePort();
      const before = gateway.paths.length;
      const run = await runLoad([
        '--gateway',
        gateway.url,
        '--port',
        String(port),
        '--duration',
        '1s',
        '--rps=30',
        '--json',
      ]);
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.trim().split('\n');
      assert.equal(lines.length, 1);
      const summary = JSON.parse(lines[0] ?? '') as { requests: number; targetRps: number };
      assert.equal(summary.targetRps, 30);
      // The stand-in saw loadgen's requests and the one /livez check of this command.
      assert.equal(summary.requests, gateway.paths.length - before - 1);
      assert.ok(summary.requests >= 20, String(summary.requests));
    });
  });

  describe('the orders and the verdict', () => {
    /** A 2 s run where every journey checks out, against a stand-in handling orders so. */
    async function run(orders: Orders, flags: string[]): Promise<ScriptRun> {
      const gateway = await startGateway(orders);
      try {
        const port = await freePort();
        const args = ['--gateway', gateway.url, '--port', String(port), '--duration', '2s'];
        return await runLoad([...args, '--rps', '20', '--users', 'alice,bob', ...flags], {
          LOADGEN_CHECKOUT_RATIO: '1',
        });
      } finally {
        gateway.server.closeAllConnections();
        await new Promise((resolve) => gateway.server.close(resolve));
      }
    }

    it('with --strict exits 1 and names the orders not final after the settle phase', async () => {
      const result = await run('stuck', ['--settle', '1s', '--strict']);
      assert.equal(result.code, 1, result.stderr);
      const placed =
        /^orders: (\d+) placed; 0 final \(0 shipped, 0 cancelled\); (\d+) not final \((\d+) PENDING\)$/m.exec(
          result.stdout,
        );
      assert.ok(placed, result.stdout);
      const [, count = '', notFinal, pending] = placed;
      assert.ok(Number(count) > 0);
      assert.equal(notFinal, count);
      assert.equal(pending, count);
      assert.match(
        result.stdout,
        /^settle: done after \d+\.\d s \(at most 1 s after the last checkout\), \d+ passes/m,
      );
      assert.match(
        result.stdout,
        new RegExp(`^verdict: FAIL: ${count} orders not final \\(${count} PENDING\\)$`, 'm'),
      );
    });

    it('with --strict exits 0 when every order is final, timed by its history', async () => {
      const result = await run('ship', ['--strict', '--json']);
      assert.equal(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout) as {
        ordersPlaced: number;
        orders: { placed: number; shipped: number; notFinal: number; timeToFinal: unknown };
      };
      assert.ok(summary.ordersPlaced > 0);
      assert.equal(summary.orders.placed, summary.ordersPlaced);
      assert.equal(summary.orders.shipped, summary.ordersPlaced);
      assert.equal(summary.orders.notFinal, 0);
      assert.deepEqual(summary.orders.timeToFinal, {
        p50Ms: 250,
        p95Ms: 250,
        p99Ms: 250,
        maxMs: 250,
      });
      // The verdict goes to stderr, so stdout stays one JSON object.
      assert.match(
        result.stderr,
        new RegExp(
          `verdict: OK: no errors; all ${String(summary.ordersPlaced)} orders final within 60 s`,
        ),
      );
    });
  });
});
