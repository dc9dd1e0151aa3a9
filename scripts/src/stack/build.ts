import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '@emporium/harness';
import { SERVICES } from './topology.js';

/**
 * Compiles the services (and the workspaces they import) with `tsc -b`, incrementally: a few
 * seconds when nothing changed. The stack then runs each from its `dist/main.js`, as its image
 * does, instead of through tsx (about 165 MiB less RSS per service). Rejects with tsc's
 * errors when the sources do not compile.
 */
export function buildServices(): Promise<void> {
  const root = repoRoot();
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const projects = SERVICES.map((s) => join('services', s.name));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-b', ...projects], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`tsc -b failed (exit ${String(code)}):\n${output.trim()}`));
    });
  });
}
