// `npm run bench`: every scenario of issue 16's table, each pair side by side in alternating
// rounds; writes bench/results/<date>.json and the table in bench/README.md.
//   --smoke          one round with tiny counts (results go to a temporary folder)
//   --only a,b       only these scenarios (also `--only a --only b`)
//   --out <dir>      where the JSON goes: bench/results for a full run; a smoke or partial run
//                    defaults to a temporary folder, so it never replaces the published results.
//                    Charts go to bench/charts in a full run, to <dir> in any other run that
//                    is not a smoke and is given --out, and nowhere otherwise
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot, ToolError } from '@emporium/harness';
import { PUBLISHED_CHARTS_DIR, setChartsDir } from './charts.js';
import { isFailed, renderResults, updateReadme, writeReport } from './report.js';
import { runBench } from './runner.js';
import { FULL_PROFILE, SMOKE_PROFILE } from './scenario.js';

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true, default: [] },
      out: { type: 'string' },
    },
    strict: true,
  });
  const profile = values.smoke ? SMOKE_PROFILE : FULL_PROFILE;
  const only = values.only.flatMap((list) => list.split(',')).filter(Boolean);
  const published = !values.smoke && only.length === 0;
  const out =
    values.out ??
    (published
      ? join(repoRoot(), 'bench', 'results')
      : await mkdtemp(join(tmpdir(), 'emporium-bench-')));
  // Charts: a published run's beside the README; another full-profile run's with its JSON when
  // --out keeps it; none for a smoke or a throwaway partial run.
  setChartsDir(
    values.smoke ? undefined : (values.out ?? (published ? PUBLISHED_CHARTS_DIR : undefined)),
  );
  const report = await runBench({ profile, only, log });
  const file = await writeReport(report, out);
  log(`wrote ${file}`);
  // The README's table is the full run's; a smoke or partial run only prints its own.
  if (published && values.out === undefined) {
    await updateReadme(report, join(repoRoot(), 'bench', 'README.md'));
    log('updated bench/README.md');
  }
  process.stdout.write(`${renderResults(report)}\n`);
  return report.scenarios.some(isFailed) ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Bad arguments and missing tools are told in a line; anything else is a bug: its stack.
    const told = err instanceof ToolError || err instanceof RangeError || err instanceof TypeError;
    const text =
      err instanceof Error ? (told ? err.message : (err.stack ?? err.message)) : String(err);
    process.stderr.write(`bench: ${text}\n`);
    process.exitCode = 1;
  },
);
