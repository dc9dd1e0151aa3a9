// The stack's reaper: `npm start` runs it detached, in a process group of its own, so it
// outlives the launcher. When the launcher is gone without stopping the stack (kill -9, an OOM
// kill), it stops every process the launcher had started, listed in the pid file the launcher
// keeps; when the launcher removes that file (it stopped the stack itself), it just exits.
// Plain Node on purpose: it must start in milliseconds and depend on nothing.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const [launcher, pidFile] = [Number(process.argv[2]), process.argv[3]];
/** How often the launcher is looked at, in ms. */
const POLL_MS = 500;
/** How long the orphans get between SIGTERM and SIGKILL, in ms. */
const GRACE_MS = 10_000;

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
};
const signal = (pids, name) => {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // Gone already.
    }
  }
};

if (!Number.isInteger(launcher) || !pidFile) {
  process.stderr.write('usage: reaper.mjs <launcher pid> <pid file>\n');
  process.exit(2);
}
for (;;) {
  if (!existsSync(pidFile)) process.exit(0);
  if (!alive(launcher)) break;
  await sleep(POLL_MS);
}
let pids = [];
try {
  pids = JSON.parse(readFileSync(pidFile, 'utf8')).filter((pid) => Number.isInteger(pid));
} catch {
  // An unreadable list: nothing to stop.
}
process.stderr.write(`reaper: launcher ${launcher} is gone; stopping ${pids.length} processes\n`);
signal(pids, 'SIGTERM');
const deadline = Date.now() + GRACE_MS;
while (Date.now() < deadline && pids.some(alive)) await sleep(200);
signal(pids.filter(alive), 'SIGKILL');
rmSync(pidFile, { force: true });
