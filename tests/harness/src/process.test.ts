import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, portFree, processRunning, startProcess, tempDir } from './process.js';
import { ToolError } from './tools/run.js';

describe('freePort', () => {
  it('gives free ports below the ephemeral range, where no outgoing connection can take them', async () => {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      assert.ok(port >= 1024 && (port < (low ?? 32768) || port > (high ?? 60999)), String(port));
      assert.ok(await portFree(port), `${String(port)} is taken`);
    }
  });
});

describe('startProcess', () => {
  it('kills a process that never gets ready and names it in the error', async () => {
    const workDir = await tempDir('never-ready');
    const error = await startProcess({
      name: 'sleeper',
      command: process.execPath,
      args: ['-e', 'console.log("pid", process.pid); setInterval(() => {}, 1000)'],
      workDir,
      readyTimeoutMs: 1000,
      ready: async () => {
        await sleep(10);
        return false;
      },
    }).catch((err: unknown) => err);
    assert.ok(error instanceof ToolError);
    assert.equal(error.tool, 'sleeper');
    assert.match(error.message, /^sleeper: not ready after 1000 ms/);
    const logged = /pid (\d+)/.exec(error.message);
    assert.ok(logged, 'the error quotes the log');
    assert.equal(processRunning(Number(logged[1])), false);
  });

  it('reports a process that exits before it is ready, with its output', async () => {
    const workDir = await tempDir('crasher');
    const error = await startProcess({
      name: 'crasher',
      command: process.execPath,
      args: ['-e', 'console.error("bad setting: PORT"); process.exit(3)'],
      workDir,
      ready: () => Promise.resolve(false),
    }).catch((err: unknown) => err);
    assert.ok(error instanceof ToolError);
    assert.match(error.message, /crasher: exited \(3\) before it was ready/);
    assert.match(error.message, /bad setting: PORT/);
  });

  it('reports a command that does not exist', async () => {
    const workDir = await tempDir('missing');
    const error = await startProcess({
      name: 'ghost',
      command: join(workDir, 'no-such-binary'),
      args: [],
      workDir,
      ready: () => Promise.resolve(true),
    }).catch((err: unknown) => err);
    assert.ok(error instanceof ToolError);
    assert.match(error.message, /ghost: .*ENOENT/);
  });

  it('kills the components of a test process that dies without stopping them', async () => {
    const dir = await tempDir('orphans');
    const script = join(dir, 'crash.mts');
    const harness = new URL('./index.ts', import.meta.url).pathname;
    // Starts Redis, prints its pid, then fails the way a broken test would.
    await writeFile(
      script,
      `import { startRedis } from ${JSON.stringify(harness)};
const redis = await startRedis();
console.log('redis-pid', redis.process.pid);
throw new Error('test blew up');
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: 'pipe' });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.notEqual(code, 0);
    const pid = Number(/redis-pid (\d+)/.exec(out)?.[1]);
    assert.ok(pid > 0, `the child started Redis: ${out}`);
    await sleep(200);
    assert.equal(processRunning(pid), false);
  });
});
