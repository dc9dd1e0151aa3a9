import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureTool, repoRoot, tempDir } from '@emporium/harness';
import {
  ALERT_CASES,
  alertNames,
  promtoolTests,
  ruleGroups,
  rulesFile,
  runbookFile,
  type RuleGroup,
} from '@emporium/scripts/observability';
import { parse, stringify } from 'yaml';
import { renderChart } from './chart.js';

const run = promisify(execFile);

/** Runs promtool in a fresh folder holding `files`; returns its stdout (throws on failure). */
async function promtool(args: string[], files: Record<string, string>): Promise<string> {
  const { promtool: bin } = await ensureTool('prometheus');
  const dir = await tempDir('promtool');
  try {
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
    const { stdout } = await run(bin, args, { cwd: dir });
    return stdout;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout}${stderr}`, {
      cause: error,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('charts/emporium: SLOs, alert rules and runbooks', () => {
  it('the PrometheusRule is the generated rule file, with the runbook base URL of the values', async () => {
    const base = 'https://wiki.example.com/emporium/runbooks';
    const objects = await renderChart(['ci/minimal-values.yaml'], {
      'monitoring.rules.runbookBaseUrl': `${base}/`,
    });
    const rule = objects.find((o) => o.kind === 'PrometheusRule');
    assert.ok(rule, 'no PrometheusRule');
    const { groups } = rule.spec as { groups: RuleGroup[] };
    assert.deepEqual(groups, ruleGroups({ runbookBaseUrl: base }));
    const urls = groups.flatMap((g) => g.rules.flatMap((r) => r.annotations?.runbook_url ?? []));
    assert.ok(urls.length > 0);
    for (const url of urls)
      assert.match(url, /^https:\/\/wiki\.example\.com\/emporium\/runbooks\/[\w-]+\.md$/);
  });

  it('the committed rule file parses and passes promtool check rules (Prometheus 3)', async () => {
    const committed = await readFile(
      join(repoRoot(), 'charts/emporium/files/rules/emporium.rules.yaml'),
      'utf8',
    );
    assert.deepEqual(parse(committed), parse(rulesFile()));
    const out = await promtool(['check', 'rules', 'rules.yaml'], { 'rules.yaml': committed });
    assert.match(out, /SUCCESS: \d+ rules found/);
  });

  it('promtool test rules: every alert fires when it should and stays silent when it should not', async () => {
    const groups = ruleGroups();
    for (const alert of alertNames(groups)) {
      const evaluations = ALERT_CASES.filter((c) => c.alert === alert).flatMap((c) => c.expect);
      assert.ok(
        evaluations.some((e) => e.alerts.length > 0),
        `${alert} has no case where it fires`,
      );
      assert.ok(
        evaluations.some((e) => e.alerts.length === 0),
        `${alert} has no case where it stays silent`,
      );
    }
    const out = await promtool(['test', 'rules', 'tests.yaml'], {
      'rules.yaml': rulesFile(),
      'tests.yaml': stringify(promtoolTests(groups, 'rules.yaml'), { lineWidth: 0 }),
    });
    assert.match(out, /SUCCESS/);
  });

  it('every alert has a runbook that says what it means, how to confirm it and what to do', async () => {
    const index = await readFile(join(repoRoot(), 'docs/runbooks/README.md'), 'utf8');
    for (const alert of alertNames()) {
      const file = runbookFile(alert);
      const text = await readFile(join(repoRoot(), 'docs/runbooks', file), 'utf8');
      assert.match(text, new RegExp(`^# ${alert}\\b`), file);
      for (const section of ['Meaning', 'Impact', 'Confirm', 'Act', 'Escalate']) {
        assert.match(text, new RegExp(`^## ${section}$`, 'm'), `${file} lacks ## ${section}`);
      }
      assert.ok(index.includes(`(${file})`), `docs/runbooks/README.md does not link ${file}`);
    }
  });
});
