import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chartFiles, readmeWithValuesTable, valueDocs } from '@emporium/scripts/chart';
import { CHART_DIR } from './chart.js';

describe('charts/emporium: generated files are fresh', () => {
  it('files/topology.yaml and files/envoy/*.yaml are what `npm run chart:generate` writes now', async () => {
    const expected = chartFiles();
    const envoyOnDisk = (await readdir(join(CHART_DIR, 'files', 'envoy'))).map(
      (f) => `files/envoy/${f}`,
    );
    assert.deepEqual(
      envoyOnDisk.sort(),
      Object.keys(expected)
        .filter((p) => p.startsWith('files/envoy/'))
        .sort(),
      'run `npm run chart:generate`',
    );
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
