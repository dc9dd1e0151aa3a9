// Runs before `npm test`, `npm start` and `npm run infra:check`, on whatever Node the machine
// has (node_modules, and with it the pinned Node 24, may not exist yet). It installs the locked
// dependencies when node_modules is missing or was installed from another package-lock.json.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(
    `emporium: Node ${process.versions.node} is too old to bootstrap; install Node 20.19 or newer (npm then installs Node 24 for the project).\n`,
  );
  process.exit(1);
}

const lockFile = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.emporium-lock.sha256');
// The lock and the patches of patches/ (applied by npm ci's postinstall): a change to either
// installs again.
const hash = createHash('sha256').update(readFileSync(lockFile));
const patchesDir = join(root, 'patches');
for (const file of existsSync(patchesDir) ? readdirSync(patchesDir).sort() : []) {
  hash.update(file).update(readFileSync(join(patchesDir, file)));
}
const digest = hash.digest('hex');
const installed = () => existsSync(stamp) && readFileSync(stamp, 'utf8') === digest;
if (installed()) process.exit(0);

// One install at a time: `npm start` and `npm run load` started together after a pull would
// otherwise run two `npm ci`, each deleting the node_modules the other is filling. The lock is
// a folder (mkdir is atomic) beside node_modules, which npm ci removes.
const lock = join(root, '.emporium-install.lock');
const STALE_MS = 15 * 60_000;
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
for (;;) {
  try {
    mkdirSync(lock);
    break;
  } catch {
    const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > STALE_MS) rmSync(lock, { recursive: true, force: true });
    else sleep(1000);
  }
}
try {
  // Another command may have installed while this one waited.
  if (!installed()) {
    process.stderr.write('emporium: installing npm dependencies (npm ci)\n');
    const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
      cwd: root,
      stdio: 'inherit',
    });
    if (npm.status !== 0) {
      process.stderr.write(
        `emporium: npm ci failed (${npm.error?.message ?? `exit ${npm.status}`}); is the npm registry reachable?\n`,
      );
      process.exitCode = 1;
    } else {
      writeFileSync(stamp, digest);
    }
  }
} finally {
  rmSync(lock, { recursive: true, force: true });
}
