import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chartFiles, readmeWithValuesTable, valueDocs } from '@emporium/scripts/chart';
import { CHART_DIR } from './chart.js';

describe('charts/emporium: generated files are fresh', () => {
  it('files/ (topology, Envoy bootstraps, dashboards, rules) is what `npm run chart:generate` writes now', async () => {
    const expected = chartFiles();
    // No file left behind by something generated no more (a renamed dashboard, a service gone).
    for (const folder of ['envoy', 'dashboards', 'rules']) {
      const onDisk = (await readdir(join(CHART_DIR, 'files', folder))).map(
        (f) => `files/${folder}/${f}`,
      );
      assert.deepEqual(
        onDisk.sort(),
        Object.keys(expected)
          .filter((p) => p.startsWith(`files/${folder}/`))
          .sort(),
        'run `npm run chart:generate`',
      );
    }
    for (const [path, content] of Object.entries(expected)) {
      assert.equal(
        await readFile(join(CHART_DIR, path), 'utf8'),
        content,
        `${path} is stale: run \`npm run chart:generate\``,
      );
    }
  });

  it('the README values table is what `npm run chart:docs` writes now', async () => {
    const readmePath = join(CHART_DIR, 'README.md');
    const [readme, values] = await Promise.all([
      readFile(readmePath, 'utf8'),
      readFile(join(CHART_DIR, 'values.yaml'), 'utf8'),
    ]);
    assert.equal(
      await readmeWithValuesTable(readme, values, readmePath),
      readme,
      'run `npm run chart:docs`',
    );
  });

  it('every value in values.yaml has a `# --` comment', async () => {
    const values = await readFile(join(CHART_DIR, 'values.yaml'), 'utf8');
    assert.ok(valueDocs(values).length > 50);
    assert.throws(() => valueDocs('# -- documented\na: 1\nb: 2\n'), /no "# --" comment on b/);
  });
});
