import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot, runNodeScript } from '@emporium/harness';
import { dashboards, panelQueries } from '@emporium/scripts/observability';

describe('dashboards: every panel on real data', () => {
  it('npm run dashboards:check: the stack under load with a payment fault fills every panel, shows the fault and links an exemplar to its trace', async () => {
    const panels = new Set(
      panelQueries(dashboards()).map((query) => `${query.dashboard}/${query.panel}`),
    );
    const env: Record<string, string> = { HOME: process.env.HOME ?? '' };
    if (process.env.EMPORIUM_CACHE) env.EMPORIUM_CACHE = process.env.EMPORIUM_CACHE;
    const run = await runNodeScript(join(repoRoot(), 'scripts', 'src', 'dashboards-check.ts'), env);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    const found = /^panels with data: (\d+)\/(\d+)$/m.exec(run.stdout);
    assert.ok(found, run.stdout);
    assert.equal(Number(found[2]), panels.size, 'every panel was queried');
    assert.equal(Number(found[1]), panels.size, run.stdout);
    assert.match(run.stdout, /^payment fault: decline ratio up to [1-9]/m);
    assert.match(run.stdout, /trace in Jaeger: [0-9a-f]{32} /);
  });
});
