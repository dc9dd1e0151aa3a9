import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  cacheRoot,
  cleanRealNode,
  CONTROL_PLANE_TOOLS,
  ensureTool,
  installCrds,
  NODE_TOOLS,
  readKubernetesState,
  runCommand,
  SHARED_CRDS_DIR,
  startKubernetes,
  stopKubernetesState,
  type KubernetesState,
} from '@emporium/harness';
import { CliError, progress, runCli } from './cli.js';
import { INFRA_IMAGES, SERVICE_IMAGE_TAG } from './images/index.js';

/** Where a running `kube:up` cluster keeps its state: $EMPORIUM_KUBE_UP_DIR or the cache's. */
export function kubeUpDir(): string {
  const fromEnv = process.env.EMPORIUM_KUBE_UP_DIR;
  return fromEnv ? resolve(fromEnv) : join(cacheRoot(), 'kube-up');
}

/** Runs the pinned kubectl against a recorded cluster; undefined stdout when it failed. */
function kubectl(state: KubernetesState, args: readonly string[]): { ok: boolean; out: string } {
  const run = spawnSync(state.kubectl, [`--kubeconfig=${state.kubeconfig}`, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { ok: run.status === 0, out: `${run.stdout}${run.stderr}`.trim() };
}

/** Whether the recorded cluster's API server answers /readyz. */
function serving(state: KubernetesState): boolean {
  return (
    existsSync(state.kubeconfig) &&
    kubectl(state, ['get', '--raw', '/readyz', '--request-timeout=3s']).ok
  );
}

function describe(state: KubernetesState): string {
  return [
    `server     ${state.server} (Kubernetes ${state.version}, nodes ${state.nodes.join(', ')})`,
    `kubeconfig ${state.kubeconfig}`,
    `kubectl    ${state.kubectl}`,
    `export KUBECONFIG=${state.kubeconfig}`,
    '',
  ].join('\n');
}

/**
 * The service (`:dev`) and dev-infrastructure images `npm run images` left in buildah's store.
 * Not skaffold's tags (one per build and input digest, piling up): `npm run skaffold` loads
 * those itself, and the node's image store keeps them across kube:down.
 */
async function builtImages(): Promise<string[]> {
  const { bin } = await ensureTool('buildah');
  const names = await runCommand('buildah', bin, ['images', '--format', '{{.Name}}:{{.Tag}}']);
  const infra = new Set(INFRA_IMAGES.map((i) => i.image));
  return [
    ...new Set(
      names.stdout
        .split('\n')
        .map((name) => name.trim())
        .filter(
          (name) =>
            infra.has(name) ||
            (name.startsWith('docker.io/emporium/') && name.endsWith(`:${SERVICE_IMAGE_TAG}`)),
        ),
    ),
  ].sort();
}

async function up(realNode: boolean): Promise<void> {
  const dir = kubeUpDir();
  const existing = await readKubernetesState(dir);
  if (existing && serving(existing)) {
    if ((existing.realNode ?? false) !== realNode) {
      throw new CliError(
        `a cluster ${existing.realNode ? 'with' : 'without'} the real node is up; npm run kube:down first`,
      );
    }
    process.stdout.write(`kube:up: already up\n${describe(existing)}`);
    return;
  }
  if (existsSync(dir)) {
    // A cluster that died or a start that was interrupted: end what is left, start afresh.
    const ended = await stopKubernetesState(dir);
    if (ended.length > 0) progress('kubernetes', `ended a stale ${ended.join(', ')}`);
  }
  for (const tool of [...CONTROL_PLANE_TOOLS, ...(realNode ? NODE_TOOLS : [])]) {
    await ensureTool(tool, progress);
  }
  const started = performance.now();
  const cluster = await startKubernetes({ stateDir: dir, detached: true, realNode });
  const state = await readKubernetesState(dir);
  if (!state) throw new CliError(`no state.json in ${dir}`);
  try {
    if (existsSync(SHARED_CRDS_DIR)) {
      const crds = await installCrds(cluster);
      progress('kubernetes', `${String(crds.length)} CRDs from ${SHARED_CRDS_DIR} Established`);
    } else {
      progress('kubernetes', `no ${SHARED_CRDS_DIR}; starting without the shared CRDs`);
    }
    if (cluster.realNode) {
      // As `kind load`: whatever `npm run images` built goes into the node's runtime.
      const images = await builtImages();
      progress('kube-node', `loading ${String(images.length)} images from buildah's store`);
      const loaded = await cluster.realNode.loadImages(images);
      progress('kube-node', `${String(loaded.length)} loaded, the rest already there`);
    }
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  const ms = Math.round(performance.now() - started);
  process.stdout.write(`kube:up: up in ${String(ms)} ms; stop it with npm run kube:down\n`);
  process.stdout.write(describe(state));
}

async function down(): Promise<void> {
  const dir = kubeUpDir();
  if (!existsSync(dir)) {
    // A real node left by a killed test or kube:up has no state here; remove it all the same.
    const removed = process.getuid?.() === 0 ? await cleanRealNode() : [];
    process.stdout.write(
      removed.length > 0
        ? `kube:down: removed a real node's ${removed.join(', ')}\n`
        : 'kube:down: nothing is up\n',
    );
    return;
  }
  const ended = await stopKubernetesState(dir);
  process.stdout.write(
    ended.length > 0 ? `kube:down: stopped ${ended.join(', ')}\n` : 'kube:down: cleaned up\n',
  );
}

// `kube.ts up` starts a control plane that outlives the command (`npm run kube:up`), with the
// real node where pods run when given `--node` (`npm run kube:up -- --node`); `kube.ts down`
// stops it and removes everything the node made (`npm run kube:down`).
runCli('kube', async () => {
  const [command, ...rest] = process.argv.slice(2);
  const node = command === 'up' && rest.length === 1 && rest[0] === '--node';
  if ((rest.length > 0 && !node) || (command !== 'up' && command !== 'down')) {
    throw new CliError(
      'usage: kube.ts up [--node]|down (npm run kube:up [-- --node], npm run kube:down)',
    );
  }
  await (command === 'up' ? up(node) : down());
});
