import assert from 'node:assert/strict';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseToolVersions, repoRoot, toolDir, toolVersions, type ToolName } from './catalogue.js';
import { ALL_TOOLS, ensureTool, publishedStagingGoMod } from './provision.js';
import { ToolError } from './run.js';

describe('tool provisioning', () => {
  it('pins every tool in tool-versions.json and caches each under <tool>-<version>', () => {
    const versions = toolVersions();
    assert.deepEqual(Object.keys(versions).sort(), [...ALL_TOOLS].sort());
    assert.match(toolDir('kafka'), new RegExp(`kafka-${versions.kafka.version}$`));
    // A tool built with patches also carries their digest (see patches.test.ts).
    assert.match(toolDir('ferretdb'), /ferretdb-1\.24\.\d+(-p[0-9a-f]{8})?$/);
  });

  it('reuses the cache: a second provisioning installs nothing', async function () {
    // `npm test` provisions before the tests run, so everything must already be there.
    const installs: string[] = [];
    for (const tool of ALL_TOOLS) {
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
