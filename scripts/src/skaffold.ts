import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ensureTool, loadImagesIntoNode, realNodeRunning, repoRoot } from '@emporium/harness';
import { progress, runCli } from './cli.js';
import { startDockerApi } from './skaffold/docker-api.js';

/** Where the Docker API for skaffold listens (on tmpfs, root's: the builds need root anyway). */
const SOCKET_DIR = '/run/emporium-skaffold';

// `npm run skaffold -- <skaffold arguments>`: the pinned skaffold, with the pinned Helm 3
// (skaffold 2.16 asks `helm version --client`, which Helm 4 dropped) and the pinned kubectl
// first on PATH, and DOCKER_HOST on a Docker API over buildah's store, since skaffold's local
// builder asks a Docker daemon for the id of each image a custom build made (there is none
// here). Every image skaffold tags for deployment is loaded into the real node, when one runs.
runCli('skaffold', async () => {
  const [skaffold, helm3, kubernetes, buildah] = await Promise.all([
    ensureTool('skaffold', progress),
    ensureTool('helm3', progress),
    ensureTool('kubernetes', progress),
    ensureTool('buildah', progress),
  ]);
  await mkdir(SOCKET_DIR, { recursive: true, mode: 0o700 });
  const api = await startDockerApi(join(SOCKET_DIR, `docker-${String(process.pid)}.sock`), {
    buildah: buildah.bin,
    onTagged: async (image) => {
      if (!realNodeRunning()) return;
      const loaded = await loadImagesIntoNode([image], { buildah: buildah.bin });
      progress(
        'skaffold',
        `${image}: ${loaded.length > 0 ? 'loaded into' : 'already on'} the node`,
      );
    },
  });
  try {
    const child = spawn(skaffold.bin, process.argv.slice(2), {
      cwd: repoRoot(),
      stdio: 'inherit',
      env: {
        ...process.env,
        PATH: [
          dirname(helm3.bin),
          dirname(kubernetes.kubectl),
          join(repoRoot(), 'node_modules', '.bin'),
          process.env.PATH ?? '',
        ].join(':'),
        DOCKER_HOST: api.host,
        SKAFFOLD_UPDATE_CHECK: 'false',
        SKAFFOLD_DISABLE_MONITORING: 'true',
      },
    });
    // Ctrl-C reaches skaffold through the terminal's process group; this one waits for it.
    const code = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (status, signal) => {
        resolve(status ?? (signal ? 128 : 1));
      });
    });
    process.exitCode = code;
  } finally {
    await api.close();
  }
});
