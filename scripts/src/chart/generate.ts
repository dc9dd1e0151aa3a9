// `npm run chart:generate`: writes charts/emporium/files/ from the topology and the Envoy
// bootstrap generator (see files.ts). A test fails when the committed files are stale.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { progress, runCli } from '../cli.js';
import { chartDir } from './paths.js';
import { chartFiles } from './files.js';

runCli('chart:generate', async () => {
  const root = chartDir();
  // A service that left the topology must not leave its bootstrap behind.
  for (const generated of ['envoy', 'dashboards', 'rules']) {
    await rm(join(root, 'files', generated), { recursive: true, force: true });
  }
  for (const [path, content] of Object.entries(chartFiles())) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  progress(
    'chart',
    `wrote ${String((await readdir(join(root, 'files', 'envoy'))).length)} Envoy bootstraps, ${String((await readdir(join(root, 'files', 'dashboards'))).length)} dashboards, the alert rules and files/topology.yaml`,
  );
});
