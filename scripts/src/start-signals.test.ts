import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { eventually, portFree, processRunning, repoRoot } from '@emporium/harness';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STACK_PORTS } from './stack/ports.js';
import { LOCAL_STACK_DATA } from './stack/stack.js';

/** A running `npm start -- --only redis`: the smallest stack, on its fixed port. */
interface Started {
  readonly npm: ChildProcess;
  /** The launcher's pid (the node process running scripts/src/start.ts). */
  readonly launcher: number;
  readonly exited: Promise<number | string | null>;
  output(): string;
}

async function npmStart(): Promise<Started> {
  assert.ok(
    await portFree(STACK_PORTS.redis),
    `127.0.0.1:${String(STACK_PORTS.redis)} is taken (a stack already running?)`,
  );
  const npm = spawn('npm', ['start', '--', '--only', 'redis'], {
    cwd: repoRoot(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string | null>((resolve) =>
    npm.once('exit', (code, signal) => {
      resolve(code ?? signal);
    }),
  );
  const launcher = await eventually(
    'npm start ready',
    () => Promise.resolve(/this launcher, pid (\d+)/.exec(output)?.[1]),
    120_000,
  ).catch((error: unknown) => {
    npm.kill('SIGKILL');
    throw new Error(`${String(error)}\n${output}`);
  });
  assert.equal(await portFree(STACK_PORTS.redis), false, 'Redis listens');
  return { npm, launcher: Number(launcher), exited, output: () => output };
}

/** Waits until the launcher is gone and Redis' port is free again. */
async function allGone(started: Started, why: string): Promise<void> {
  await eventually(
    `${why}: launcher and Redis gone`,
    async () =>
      !processRunning(started.launcher) && (await portFree(STACK_PORTS.redis)) ? true : undefined,
    30_000,
  ).catch((error: unknown) => {
    if (processRunning(started.launcher)) process.kill(started.launcher, 'SIGKILL');
    throw new Error(`${String(error)}\n${started.output()}`);
  });
}

describe('npm start stops whole: signals to npm, and a launcher that dies', function () {
  this.timeout(300_000);

  it('SIGTERM to npm stops the launcher and everything it started, in order', async () => {
    const started = await npmStart();
    started.npm.kill('SIGTERM');
    await allGone(started, 'SIGTERM');
    assert.equal(await started.exited, 0, started.output());
    assert.match(started.output(), /SIGTERM: stopping/);
    // Its footprint when ready and when it stops: the launcher and Redis, in MiB.
    const footprints = [
      ...started
        .output()
        .matchAll(/The stack uses (\d+) MiB \(PSS; (\d+) MiB RSS\) in 2 processes/g),
    ];
    assert.equal(footprints.length, 2, started.output());
    // Shared pages count in full in RSS and in part in PSS.
    assert.ok(footprints.every(([, pss, rss]) => Number(pss) > 0 && Number(pss) <= Number(rss)));
  });

  it('SIGINT to npm (Ctrl-C in its terminal) stops everything too', async () => {
    const started = await npmStart();
    started.npm.kill('SIGINT');
    await allGone(started, 'SIGINT');
    assert.match(started.output(), /(SIGINT|is gone): stopping/);
  });

  it('SIGHUP to npm alone, which npm does not pass on: the launcher sees its parents go', async () => {
    const started = await npmStart();
    started.npm.kill('SIGHUP');
    await allGone(started, 'SIGHUP');
    assert.match(started.output(), /(SIGHUP|is gone): stopping/);
  });

  it('a process that dies is reported with its exit and log, and started again', async () => {
    const started = await npmStart();
    try {
      // The launcher lists what it started for the reaper: here, Redis alone.
      const list = await readFile(join(LOCAL_STACK_DATA, 'stack.pids'), 'utf8');
      const [redis] = JSON.parse(list) as number[];
      assert.ok(redis !== undefined && processRunning(redis), list);
      process.kill(redis, 'SIGKILL');
      await eventually(
        'redis back',
        async () =>
          started.output().includes('✓ redis is back') && !(await portFree(STACK_PORTS.redis))
            ? true
            : undefined,
        30_000,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${started.output()}`);
      });
      const output = started.output();
      // The log is kept in the data folder, across the restart.
      assert.match(
        output,
        new RegExp(`the last lines of ${join(LOCAL_STACK_DATA, 'logs', 'redis.log')}:`),
      );
      assert.match(output, /redis: restarting in 1 s/);
      assert.match(output, /status: 0 of 1 up · restarting redis/);
      assert.match(output, /status: 1 of 1 up\n/);
    } finally {
      started.npm.kill('SIGTERM');
      await allGone(started, 'SIGTERM after the restart');
    }
  });

  it("npm start -- --follow <name> prints a process's log as it grows; an unknown name lists the logs", async () => {
    const started = await npmStart();
    const follower = spawn('npm', ['start', '--silent', '--', '--follow', 'redis'], {
      cwd: repoRoot(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let followed = '';
    follower.stdout.on('data', (chunk: Buffer) => (followed += chunk.toString()));
    try {
      // Its last lines at once: Redis says it is ready.
      await eventually('the tail of redis.log', () =>
        Promise.resolve(followed.includes('Ready to accept connections') ? true : undefined),
      );
      // A restart appends to the same file, and the follower prints the new lines.
      const before = followed.length;
      const [redis] = JSON.parse(
        await readFile(join(LOCAL_STACK_DATA, 'stack.pids'), 'utf8'),
      ) as number[];
      assert.ok(redis !== undefined);
      process.kill(redis, 'SIGKILL');
      await eventually(
        'the restarted Redis in the followed log',
        () =>
          Promise.resolve(
            followed.slice(before).includes('Ready to accept connections') ? true : undefined,
          ),
        30_000,
      );
      // The status from another terminal: Redis up again, its pid and its log.
      const statusNow = (): Promise<string> =>
        new Promise<string>((resolve) => {
          const run = spawn('npm', ['start', '--silent', '--', '--status'], { cwd: repoRoot() });
          let out = '';
          run.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
          run.once('exit', () => {
            resolve(out);
          });
        });
      await eventually(
        'npm start -- --status: redis up',
        async () => {
          const status = await statusNow();
          return /^ {2}redis +up +\d+ +\S+redis\.log$/m.test(status) ? status : undefined;
        },
        30_000,
      );
      const unknown = spawn('npm', ['start', '--silent', '--', '--follow', 'nosuch'], {
        cwd: repoRoot(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let refused = '';
      unknown.stderr.on('data', (chunk: Buffer) => (refused += chunk.toString()));
      const code = await new Promise((resolve) => unknown.once('exit', resolve));
      assert.equal(code, 1);
      assert.match(refused, /--follow takes one of: .*redis/);
    } finally {
      follower.kill('SIGINT');
      started.npm.kill('SIGTERM');
      await allGone(started, 'SIGTERM after following');
    }
  });

  it('kill -9 of the launcher: the reaper stops what it had started', async () => {
    const started = await npmStart();
    process.kill(started.launcher, 'SIGKILL');
    await allGone(started, 'kill -9');
    started.npm.kill('SIGTERM');
    await started.exited;
  });
});
