import assert from 'node:assert/strict';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseToolVersions, repoRoot, toolDir, toolVersions, type ToolName } from './catalogue.js';
import { ALL_TOOLS, ensureTool } from './provision.js';
import { ToolError } from './run.js';

describe('tool provisioning', () => {
  it('pins every tool in tool-versions.json and caches each under <tool>-<version>', () => {
    const versions = toolVersions();
    assert.deepEqual(Object.keys(versions).sort(), [...ALL_TOOLS].sort());
    assert.match(toolDir('kafka'), new RegExp(`kafka-${versions.kafka.version}$`));
    assert.match(toolDir('ferretdb'), /ferretdb-1\.24\.\d+$/);
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
