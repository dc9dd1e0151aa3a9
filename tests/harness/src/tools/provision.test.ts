import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseToolVersions, repoRoot, toolDir, toolVersions, type ToolName } from './catalogue.js';
import {
  ALL_TOOLS,
  ensureTool,
  NODE_TOOLS,
  PROVISIONED_TOOLS,
  publishedStagingGoMod,
  withLock,
} from './provision.js';
import { ToolError } from './run.js';

describe('tool provisioning', () => {
  it('pins every tool in tool-versions.json and caches each under <tool>-<version>', () => {
    const versions = toolVersions();
    assert.deepEqual(Object.keys(versions).sort(), [...ALL_TOOLS].sort());
    assert.match(toolDir('kafka'), new RegExp(`kafka-${versions.kafka.version}$`));
    // A tool built with patches also carries their digest (see patches.test.ts).
    assert.match(toolDir('ferretdb'), /ferretdb-1\.24\.\d+(-p[0-9a-f]{8})?$/);
  });

  it("provisions every tool but the real node's, whose kubelet is the control plane's release", () => {
    const versions = toolVersions();
    assert.deepEqual([...PROVISIONED_TOOLS, ...NODE_TOOLS].sort(), [...ALL_TOOLS].sort());
    assert.ok(!PROVISIONED_TOOLS.some((tool) => NODE_TOOLS.includes(tool)));
    // A kubelet newer or older than its API server is a skew the node tests would not mean.
    assert.equal(versions['kubernetes-node'].version, versions.kubernetes.version);
    assert.equal(versions['kubernetes-node'].module, versions.kubernetes.module);
  });

  it('takes over at once a lock whose holder was killed, and waits for one whose holder lives', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'emporium-locks-'));
    const before = process.env.EMPORIUM_CACHE;
    process.env.EMPORIUM_CACHE = cache;
    try {
      // A pid that surely is gone: a process that has exited and been reaped.
      const dead = spawnSync(process.execPath, ['-e', '']).pid;
      await mkdir(join(cache, '.locks', 'gone'), { recursive: true });
      await writeFile(join(cache, '.locks', 'gone', 'pid'), String(dead));
      const started = Date.now();
      const ran: string[] = [];
      await withLock('gone', async () => {
        ran.push('gone');
        await Promise.resolve();
      });
      assert.deepEqual(ran, ['gone']);
      assert.ok(Date.now() - started < 5_000, 'a dead holder made it wait');

      // A live holder (this process): still waiting after 2.5 s, then it gets the lock.
      await mkdir(join(cache, '.locks', 'held'));
      await writeFile(join(cache, '.locks', 'held', 'pid'), String(process.pid));
      const waiting = withLock('held', async () => {
        ran.push('held');
        await Promise.resolve();
      });
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      assert.deepEqual(ran, ['gone'], 'took a lock whose holder lives');
      await rm(join(cache, '.locks', 'held'), { recursive: true });
      await waiting;
      assert.deepEqual(ran, ['gone', 'held']);
    } finally {
      if (before === undefined) delete process.env.EMPORIUM_CACHE;
      else process.env.EMPORIUM_CACHE = before;
      await rm(cache, { recursive: true, force: true });
    }
  });

  it('reuses the cache: a second provisioning installs nothing', async function () {
    // `npm test` provisions before the tests run, so everything must already be there.
    const installs: string[] = [];
    for (const tool of PROVISIONED_TOOLS) {
      const paths: Record<string, string> = await ensureTool(tool, (name: ToolName, message) => {
        installs.push(`${name}: ${message}`);
      });
      for (const [key, path] of Object.entries(paths)) {
        if (key === 'classpath') continue;
        accessSync(path, key === 'log4jConfig' ? constants.R_OK : constants.X_OK);
      }
    }
    assert.deepEqual(installs, []);
  });

  it('builds Kubernetes against the published staging modules of its own release', () => {
    const goMod = [
      'module k8s.io/kubernetes',
      '',
      'require (',
      '\tgithub.com/google/uuid v1.6.0',
      '\tk8s.io/api v0.0.0',
      '\tk8s.io/client-go v0.0.0',
      '\tk8s.io/klog/v2 v2.140.0',
      ')',
      '',
      'replace (',
      '\tk8s.io/api => ./staging/src/k8s.io/api',
      '\tk8s.io/client-go => ./staging/src/k8s.io/client-go',
      ')',
      '',
    ].join('\n');
    const published = publishedStagingGoMod(goMod, 'v1.37.2');
    assert.match(published, /^\tk8s\.io\/api v0\.37\.2$/m);
    assert.match(published, /^\tk8s\.io\/client-go v0\.37\.2$/m);
    assert.match(published, /^\tk8s\.io\/klog\/v2 v2\.140\.0$/m);
    assert.match(published, /^\tgithub\.com\/google\/uuid v1\.6\.0$/m);
    assert.doesNotMatch(published, /replace|staging/);
    const kubernetes = toolVersions().kubernetes;
    assert.ok(Array.isArray(kubernetes.package) && kubernetes.package.includes('./cmd/kubectl'));
  });

  it('lists every bad entry of a versions file at once', () => {
    const file = join(repoRoot(), 'tool-versions.json');
    const good = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
    const { redis: _dropped, ...rest } = good;
    const bad = {
      ...rest,
      helm: { ...good.helm, version: '4.3.1' },
      envoy: { ...good.envoy, source: 'conda' },
    };
    assert.throws(
      () => parseToolVersions(JSON.stringify(bad), 'versions.json'),
      (err: unknown) => {
        assert.ok(err instanceof ToolError);
        assert.match(err.message, /versions\.json is invalid/);
        assert.match(err.message, /helm\.version/);
        assert.match(err.message, /envoy\.source/);
        assert.match(err.message, /redis/);
        return true;
      },
    );
    assert.throws(() => parseToolVersions('{', 'broken.json'), /broken\.json is not JSON/);
  });
});
