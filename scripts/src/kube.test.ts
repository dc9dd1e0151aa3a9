import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processRunning, repoRoot, type KubernetesState } from '@emporium/harness';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs scripts/src/kube.ts as `npm run kube:up` / `kube:down` would. */
function kube(command: string, env: NodeJS.ProcessEnv): Promise<Run> {
  const file = join(repoRoot(), 'scripts', 'src', 'kube.ts');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, command], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

describe('kube:up and kube:down', () => {
  it('leaves a control plane with the shared CRDs running, knows it is up, then stops it', async function () {
    this.timeout(300_000);
    const scratch = await mkdtemp(join(tmpdir(), 'emporium-kube-up-test-'));
    const env = { EMPORIUM_KUBE_UP_DIR: join(scratch, 'kube-up') };
    try {
      const up = await kube('up', env);
      assert.equal(up.code, 0, up.stderr);
      const kubeconfig = /^export KUBECONFIG=(.+)$/m.exec(up.stdout)?.[1];
      assert.equal(kubeconfig, join(scratch, 'kube-up', 'kubeconfig'));
      const state = JSON.parse(
        readFileSync(join(scratch, 'kube-up', 'state.json'), 'utf8'),
      ) as KubernetesState;
      assert.deepEqual(
        state.processes.map((p) => p.name).sort(),
        ['kine', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'].sort(),
      );
      // The command has exited; its processes have not.
      for (const { pid } of state.processes)
        assert.ok(processRunning(pid), `pid ${String(pid)} is gone`);
      const crds = spawnSync(
        state.kubectl,
        [`--kubeconfig=${kubeconfig}`, 'get', 'crd', 'httproutes.gateway.networking.k8s.io'],
        { encoding: 'utf8' },
      );
      assert.equal(crds.status, 0, crds.stderr);

      const again = await kube('up', env);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^kube:up: already up$/m);

      const down = await kube('down', env);
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stdout, /^kube:down: stopped .*kube-apiserver, kine$/m);
      for (const { pid } of state.processes) assert.equal(processRunning(pid), false);
      assert.equal(existsSync(join(scratch, 'kube-up')), false);
      assert.match((await kube('down', env)).stdout, /nothing is up/);
    } finally {
      await kube('down', env);
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
