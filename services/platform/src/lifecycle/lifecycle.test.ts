import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { createLifecycle } from './lifecycle.js';

const silent = pino({ level: 'silent' });

/** Starts the fixture service and resolves with its port once it listens. */
async function startFixture(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const fixture = new URL('./fixtures/slow-service.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  for (let i = 0; i < 200 && !/listening \d+/.test(out); i++) await sleep(50);
  const port = Number(/listening (\d+)/.exec(out)?.[1]);
  assert.ok(port > 0, `fixture did not start: ${out}`);
  return { child, port, output: () => out };
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else
      child.once('exit', (code) => {
        resolve(code);
      });
  });
}

describe('lifecycle', () => {
  it('runs phases in order: readiness first, then server, consumers, workers, telemetry, clients', async () => {
    const order: string[] = [];
    const codes: number[] = [];
    const lifecycle = createLifecycle({
      logger: silent,
      readiness: { startShutdown: () => order.push('readiness') },
      timeoutMs: 5000,
      drainDelayMs: 0,
      exit: (code) => codes.push(code),
    });
    // Registered out of order on purpose.
    lifecycle.onShutdown('clients', 'mongo', () => {
      order.push('clients');
      return Promise.resolve();
    });
    lifecycle.onShutdown('telemetry', 'otel', () => {
      order.push('telemetry');
      return Promise.resolve();
    });
    lifecycle.onShutdown('consumers', 'kafka', () => {
      order.push('consumers');
      return Promise.resolve();
    });
    lifecycle.onShutdown('server', 'http', () => {
      order.push('server');
      return Promise.resolve();
    });
    lifecycle.onShutdown('workers', 'relay', () => {
      order.push('workers');
      return Promise.resolve();
    });
    await Promise.all([lifecycle.shutdown('test'), lifecycle.shutdown('again')]);
    assert.deepEqual(order, [
      'readiness',
      'server',
      'consumers',
      'workers',
      'telemetry',
      'clients',
    ]);
    assert.deepEqual(codes, [0]);
  });

  it('a failing step does not stop later phases, and the exit code says so', async () => {
    const order: string[] = [];
    const codes: number[] = [];
    const lifecycle = createLifecycle({
      logger: silent,
      readiness: { startShutdown: () => undefined },
      timeoutMs: 5000,
      drainDelayMs: 0,
      exit: (code) => codes.push(code),
    });
    lifecycle.onShutdown('consumers', 'kafka', () => Promise.reject(new Error('commit failed')));
    lifecycle.onShutdown('clients', 'mongo', () => {
      order.push('clients');
      return Promise.resolve();
    });
    await lifecycle.shutdown('test');
    assert.deepEqual(order, ['clients']);
    assert.deepEqual(codes, [1]);
  });

  it('exits 1 when shutdown overruns its deadline', async () => {
    const codes: number[] = [];
    const lifecycle = createLifecycle({
      logger: silent,
      readiness: { startShutdown: () => undefined },
      timeoutMs: 200,
      drainDelayMs: 0,
      exit: (code) => codes.push(code),
    });
    lifecycle.onShutdown('clients', 'stuck', () => sleep(5000, undefined, { ref: false }));
    await lifecycle.shutdown('test');
    assert.deepEqual(codes, [1]);
  });

  it('SIGTERM during a slow request: readiness fails, the request finishes, the process exits 0', async () => {
    const { child, port, output } = await startFixture({ SHUTDOWN_DRAIN_DELAY_MS: '300' });
    const base = `http://127.0.0.1:${String(port)}`;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const slow = fetch(`${base}/slow?ms=1500`).then(async (r) => ({
      status: r.status,
      body: await r.text(),
    }));
    await sleep(200);
    child.kill('SIGTERM');
    await sleep(100);
    // Within the drain delay the server still answers, and readiness reports shutdown.
    assert.equal((await fetch(`${base}/readyz`)).status, 503);
    assert.deepEqual(await slow, { status: 200, body: 'finished' });
    assert.equal(await exited(child), 0);
    assert.match(output(), /clients closed/);
  });

  it('SIGINT is handled the same way', async () => {
    const { child } = await startFixture({});
    child.kill('SIGINT');
    assert.equal(await exited(child), 0);
  });
});
