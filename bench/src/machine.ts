import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { repoRoot } from '@emporium/harness';

/** The machine and code a run measured: ratios travel between machines, absolutes do not. */
export interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  /** Total memory in GiB. */
  readonly memoryGiB: number;
  readonly node: string;
  /** HEAD's commit, and whether the work tree had uncommitted changes. */
  readonly commit: string;
  readonly dirty: boolean;
  /** 1-minute load average when the run started (other work on the machine skews absolutes). */
  readonly loadAverage: number;
}

function git(args: readonly string[]): string {
  try {
    return execFileSync('git', args, { cwd: repoRoot(), encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/** Describes this machine and the checked-out commit. */
export function describeMachine(): Machine {
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    commit: git(['rev-parse', 'HEAD']) || 'unknown',
    dirty: git(['status', '--porcelain']) !== '',
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

/** Resident set size of a process in MB (MiB), from /proc; undefined once it has gone. */
export async function rssMb(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${String(pid)}/status`, 'utf8').catch(() => undefined);
  const kb = status && /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb ? Number(kb) / 1024 : undefined;
}
