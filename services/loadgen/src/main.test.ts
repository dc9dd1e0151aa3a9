import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, serviceMain } from '@emporium/harness';
import { SUMMARY_PREFIX, type Summary } from './domain/summary.js';
import { startFakeGateway, type FakeGateway } from './fixtures/fake-gateway.js';

/** Processes a test started; afterEach kills any a failed assertion left running. */
const started = new Set<ChildProcess>();

/** loadgen's main.ts as its own process, started the way the local stack starts services. */
function startLoadgen(env: Record<string, string>) {
  const child = spawn(process.execPath, serviceMain('loadgen').args, {
    cwd: new URL('..', import.meta.url).pathname,
    env: {
      PATH: process.env.PATH,
      OTEL_SERVICE_NAME: 'loadgen',
      TELEMETRY_ENABLED: 'false',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      resolve(code);
    });
  });
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

/** The one summary line of the output, parsed. */
function summaryOf(stdout: string): Summary {
  const lines = stdout.split('\n').filter((line) => line.startsWith(SUMMARY_PREFIX));
  assert.equal(lines.length, 1, `one summary line in:\n${stdout}`);
  return JSON.parse(lines[0]?.slice(SUMMARY_PREFIX.length) ?? '') as Summary;
}

describe('loadgen process', () => {
  let gateway: FakeGateway;

  beforeEach(async () => {
    gateway = await startFakeGateway();
  });

  afterEach(async () => {
    for (const child of started) child.kill('SIGKILL');
    await gateway.stop();
  });

  it('with LOADGEN_DURATION runs that long, prints one summary line and exits 0 by itself', async () => {
    const port = await freePort();
    const started = performance.now();
    const run = startLoadgen({
      PORT: String(port),
      UPSTREAM_GATEWAY_URL: gateway.url,
      LOADGEN_RPS: '25',
      LOADGEN_DURATION: '2s',
      LOADGEN_USERS: 'alice,bob',
      LOADGEN_CHECKOUT_RATIO: '1',
    });
    const code = await run.exited;
    assert.equal(code, 0, run.stderr());
    const seconds = (performance.now() - started) / 1000;
    // The bound includes starting tsx and the settle phase (a pass, 2 s, a pass), and leaves
    // room for a busy machine: what it catches is a run that does not end by itself.
    assert.ok(seconds >= 2 && seconds < 45, `ran ${String(seconds)} s`);
    const summary = summaryOf(run.stdout());
    assert.equal(summary.running, false);
    assert.equal(summary.targetRps, 25);
    assert.ok(
      summary.elapsedSeconds >= 1.9 && summary.elapsedSeconds < 3,
      String(summary.elapsedSeconds),
    );
    // The gateway also saw the settle phase's reads, which are checks, not load.
    assert.equal(summary.requests + summary.orders.settle.reads, gateway.seen.length);
    assert.ok(summary.requests >= 30, `${String(summary.requests)} requests`);
    assert.equal(
      summary.ordersPlaced,
      gateway.of('checkout').filter((s) => s.status === 202).length,
    );
    assert.equal(summary.total.errors, 0);
    // The stand-in ships every order 300 ms after it was placed: the settle phase saw them all
    // final and ended long before its default 60 s.
    assert.equal(summary.orders.placed, summary.ordersPlaced);
    assert.equal(summary.orders.notFinal, 0);
    assert.equal(summary.orders.shipped, summary.ordersPlaced);
    assert.equal(summary.orders.settle.state, 'done');
    assert.equal(summary.orders.settle.limitMs, 60_000);
    // Everything else on stdout is the JSON log, whose last word is the same summary.
    const logs = run
      .stdout()
      .split('\n')
      .filter((line) => line && !line.startsWith(SUMMARY_PREFIX))
      .map((line) => JSON.parse(line) as { msg: string; summary?: Summary });
    assert.deepEqual(logs.find((entry) => entry.msg === 'loadgen finished')?.summary, summary);
    assert.ok(logs.some((entry) => entry.msg === 'loadgen listening'));
  });

  it('without a duration runs until SIGTERM, then prints its summary and exits 0', async () => {
    const port = await freePort();
    const run = startLoadgen({
      PORT: String(port),
      UPSTREAM_GATEWAY_URL: gateway.url,
      LOADGEN_RPS: '40',
      LOADGEN_USERS: '2',
    });
    // The stand-in refuses no user, so shopper-1 and shopper-2 get tokens too.
    for (let i = 0; i < 300 && gateway.seen.length < 20; i++) await sleep(100);
    assert.ok(gateway.seen.length >= 20, run.stderr() + run.stdout());
    const stats = (await (await fetch(`http://127.0.0.1:${String(port)}/stats`)).json()) as Summary;
    assert.equal(stats.running, true);
    assert.ok(stats.requests > 0);
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.stderr());
    const summary = summaryOf(run.stdout());
    assert.equal(summary.running, false);
    assert.equal(summary.requests, gateway.seen.length);
    assert.ok(summary.requests >= stats.requests);
    assert.equal(summary.orders.settle.state, 'skipped', 'no settle phase on SIGTERM');
    assert.ok(
      gateway.of('token').every((t) => /^shopper-[12]$/.test((t.body as { user: string }).user)),
    );
  });

  it('SIGTERM during the settle phase cuts it short and still prints the summary', async () => {
    // Orders here stay PAID for ever, so only the signal can end the settle phase early.
    const stuck = await startFakeGateway({ stuck: () => true });
    try {
      const port = await freePort();
      const run = startLoadgen({
        PORT: String(port),
        UPSTREAM_GATEWAY_URL: stuck.url,
        LOADGEN_RPS: '40',
        // Long enough for a busy machine to place an order; the settle phase holds the rest.
        LOADGEN_DURATION: '6s',
        LOADGEN_SETTLE: '5m',
        LOADGEN_USERS: '8',
        LOADGEN_CHECKOUT_RATIO: '1',
      });
      let settling: Summary | undefined;
      for (let i = 0; i < 600 && settling === undefined; i++) {
        await sleep(100);
        const stats = await fetch(`http://127.0.0.1:${String(port)}/stats`)
          .then((response) => response.json() as Promise<Summary>)
          .catch(() => undefined);
        if (stats?.orders.settle.state === 'running') settling = stats;
      }
      assert.ok(settling, `never saw the settle phase: ${run.stdout()}${run.stderr()}`);
      // The load is over while the settle phase reads orders back.
      assert.equal(settling.running, false);
      assert.ok(settling.orders.placed > 0);
      run.child.kill('SIGTERM');
      assert.equal(await run.exited, 0, run.stderr());
      const summary = summaryOf(run.stdout());
      assert.equal(summary.orders.settle.state, 'interrupted');
      assert.equal(summary.orders.final, 0);
      assert.equal(summary.orders.notFinal, summary.orders.placed);
      assert.ok(summary.orders.settle.reads >= 1);
    } finally {
      await stuck.stop();
    }
  });
});
