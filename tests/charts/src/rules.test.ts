import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureTool, tempDir } from '@emporium/harness';
import { stringify } from 'yaml';
import { renderChart } from './chart.js';

const run = promisify(execFile);

describe('charts/emporium: alert rules', () => {
  it('the PrometheusRule passes promtool check rules', async () => {
    const objects = await renderChart(['ci/minimal-values.yaml']);
    const rule = objects.find((o) => o.kind === 'PrometheusRule');
    assert.ok(rule, 'no PrometheusRule');
    const { groups } = rule.spec as { groups: { rules: { alert: string }[] }[] };
    assert.ok(groups.flatMap((g) => g.rules).length >= 5);
    const { promtool } = await ensureTool('prometheus');
    const dir = await tempDir('promtool');
    try {
      const file = join(dir, 'rules.yaml');
      await writeFile(file, stringify({ groups }));
      const { stdout } = await run(promtool, ['check', 'rules', file]);
      assert.match(stdout, /SUCCESS: \d+ rules found/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
