// `npm run chart:docs`: regenerates the values table of charts/emporium/README.md from the
// `# --` comments of values.yaml. A test fails when the committed table is stale.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { progress, runCli } from '../cli.js';
import { chartDir } from './paths.js';
import { readmeWithValuesTable } from './values-docs.js';

runCli('chart:docs', async () => {
  const readmePath = join(chartDir(), 'README.md');
  const [readme, values] = await Promise.all([
    readFile(readmePath, 'utf8'),
    readFile(join(chartDir(), 'values.yaml'), 'utf8'),
  ]);
  await writeFile(readmePath, await readmeWithValuesTable(readme, values, readmePath));
  progress('chart', 'wrote the values table of charts/emporium/README.md');
});
