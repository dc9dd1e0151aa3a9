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
 * The smallest gateway a run can go through: /livez, and a catalog page with one product
 * whose every other answer the shoppers accept; checkout answers 409, short stock.
 */
async function startGateway(): Promise<{ url: string; server: Server; paths: string[] }> {
  const paths: string[] = [];
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
    else if (req.method === 'POST' && path === '/api/orders') json(409, { code: 'OUT_OF_STOCK' });
    else json(200, {});
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
      assert.ok(gateway.paths.includes('POST /dev/token'));
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
});
