import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { repoRoot } from '@emporium/harness';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one of the scripts/src command-line entry points as `npm run` would. */
function runScript(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const file = join(repoRoot(), 'scripts', 'src', script);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

const STACK_FRAME = /^\s+at /m;

describe('provision', () => {
  let scratch: string;
  beforeEach(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'emporium-provision-test-'));
  });
  afterEach(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  /** A versions file like the real one with one tool changed. */
  async function versionsWith(tool: string, change: Record<string, string>): Promise<string> {
    const real = JSON.parse(readFileSync(join(repoRoot(), 'tool-versions.json'), 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    const file = join(scratch, 'tool-versions.json');
    await writeFile(file, JSON.stringify({ ...real, [tool]: { ...real[tool], ...change } }));
    return file;
  }

  it('names the tool and the missing prerequisite, without a stack trace', async () => {
    // An empty cache and a PATH holding only Node: Maven is missing for the Kafka jars.
    const run = await runScript('provision.ts', [], {
      EMPORIUM_CACHE: join(scratch, 'cache'),
      PATH: dirname(process.execPath),
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^provision: kafka: needs `mvn` on PATH/m);
    assert.doesNotMatch(run.stderr, STACK_FRAME);
  });

  it('names the tool when a download fails, and leaves no half-installed cache', async () => {
    const versions = await versionsWith('kafka', { version: '0.0.0-no-such-release' });
    const cache = join(scratch, 'cache');
    const run = await runScript('provision.ts', [], {
      EMPORIUM_CACHE: cache,
      EMPORIUM_TOOL_VERSIONS: versions,
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^provision: kafka: `.*mvn.*` failed/m);
    assert.match(run.stderr, /0\.0\.0-no-such-release/);
    assert.doesNotMatch(run.stderr, STACK_FRAME);
    assert.throws(() =>
      readFileSync(join(cache, 'kafka-0.0.0-no-such-release', '.installed.json')),
    );
  });

  it('names the tool when a Go module version does not exist', async () => {
    const versions = await versionsWith('helm', { version: 'v0.0.0-nonexistent' });
    const run = await runScript('provision.ts', [], {
      EMPORIUM_TOOL_VERSIONS: versions,
    });
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^provision: helm: could not download helm\.sh\/helm\/v4@v0\.0\.0-nonexistent/m,
    );
    assert.doesNotMatch(run.stderr, STACK_FRAME);
  });
});

describe('infra:check', () => {
  it('prints one `<component> ok <ms>` line per component checked', async () => {
    const run = await runScript('infra-check.ts', ['redis', 'helm']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^redis ok \d+\nhelm ok \d+\n$/);
  });

  it('rejects an unknown component by name', async () => {
    const run = await runScript('infra-check.ts', ['redis', 'oracle']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /infra:check: unknown component\(s\) oracle; known: kafka, redis/);
  });
});

describe('start', () => {
  it('rejects an unknown option and an unknown part by name, before starting anything', async () => {
    const bogus = await runScript('start.ts', ['--bogus']);
    assert.equal(bogus.code, 1);
    assert.match(bogus.stderr, /^start: unknown option --bogus; try --only, --infra-only/m);
    const part = await runScript('start.ts', ['--only', 'kafka,oracle']);
    assert.equal(part.code, 1);
    assert.match(part.stderr, /--only takes a comma-separated subset of kafka, redis, mongodb/);
    assert.doesNotMatch(bogus.stderr + part.stderr, STACK_FRAME);
  });

  it('names every fixed port that is taken, and starts nothing', async () => {
    const { STACK_PORTS } = await import('./stack/ports.js');
    const { createServer } = await import('node:net');
    const squatter = createServer();
    // Whoever holds the port (this test, or a developer's running stack), start must refuse.
    await new Promise<void>((resolve) => {
      squatter.once('error', () => {
        resolve();
      });
      squatter.listen(STACK_PORTS.gateway, '127.0.0.1', resolve);
    });
    try {
      const run = await runScript('start.ts', ['--no-sidecars']);
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        new RegExp(`gateway needs 127\\.0\\.0\\.1:${String(STACK_PORTS.gateway)}, which is in use`),
      );
      assert.doesNotMatch(run.stderr, /kafka: starting/);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
