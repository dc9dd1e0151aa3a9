import { readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';

/** A process under this one (a component or service the bench started). */
export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  /** Its command line, arguments joined by spaces. */
  readonly cmdline: string;
}

/** Every process below `root` (children, grandchildren …), read from /proc. */
export async function descendants(root = process.pid): Promise<ProcessInfo[]> {
  const all: ProcessInfo[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    const ppid = /^PPid:\s+(\d+)/m.exec(status)?.[1];
    if (ppid === undefined) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    all.push({ pid: Number(entry), ppid: Number(ppid), cmdline: cmdline.replaceAll('\0', ' ') });
  }
  const below = new Set([root]);
  const out: ProcessInfo[] = [];
  // Parents come before children in pid order most of the time; loop until nothing is added.
  for (let added = true; added;) {
    added = false;
    for (const p of all) {
      if (!below.has(p.pid) && below.has(p.ppid)) {
        below.add(p.pid);
        out.push(p);
        added = true;
      }
    }
  }
  return out;
}

/**
 * A readable name for a component's process: the service of a Node process or an Envoy
 * (`orders`, `envoy orders`), else the executable (`java` is Kafka).
 */
export function processLabel(cmdline: string): string {
  const service = /services\/([a-z]+)\/src\/main\.ts/.exec(cmdline)?.[1];
  if (service) return service;
  const envoy = /emporium-([a-z]+)-envoy-/.exec(cmdline)?.[1];
  if (envoy) return `envoy ${envoy}`;
  const exe = basename(cmdline.split(' ')[0] ?? '');
  if (exe === 'java') return 'kafka';
  if (exe === 'node') return 'node (other)';
  return exe;
}

/** CPU time a process has used so far, in seconds (user + system), or undefined once gone. */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${String(pid)}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  // Fields after the command (which may hold spaces) start at the state, field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  // Linux reports in USER_HZ, 100 on every mainstream architecture.
  return Number.isFinite(ticks) ? ticks / 100 : undefined;
}

/** CPU seconds per label over all of this process's descendants. */
export async function cpuByLabel(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const p of await descendants()) {
    const seconds = await cpuSeconds(p.pid);
    if (seconds === undefined) continue;
    const label = processLabel(p.cmdline);
    out.set(label, (out.get(label) ?? 0) + seconds);
  }
  return out;
}
