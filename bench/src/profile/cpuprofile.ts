// Reads V8 .cpuprofile files (what `node --cpu-prof` and the inspector's Profiler.stop write)
// into self time by package and by function: the two questions a throughput gap asks first.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const callFrame = z.object({
  functionName: z.string(),
  url: z.string(),
  lineNumber: z.number().int(),
  columnNumber: z.number().int(),
});

const profileNode = z.object({
  id: z.number().int(),
  callFrame,
  hitCount: z.number().int().optional(),
  children: z.array(z.number().int()).optional(),
});

const cpuProfile = z.object({
  nodes: z.array(profileNode).min(1),
  /** Microseconds on the monotonic clock (the one process.hrtime reads). */
  startTime: z.number(),
  endTime: z.number(),
  samples: z.array(z.number().int()).optional(),
  timeDeltas: z.array(z.number()).optional(),
});

/** A V8 CPU profile: the call tree, and which tree node each sample landed in and when. */
export type CpuProfile = z.infer<typeof cpuProfile>;

/** Validates a parsed .cpuprofile; throws with the first thing that is not one. */
export function parseCpuProfile(json: unknown): CpuProfile {
  return cpuProfile.parse(json);
}

/** The V8 pseudo-frames that are not code of any package, each kept as its own row. */
export const PSEUDO_FRAMES = ['(garbage collector)', '(idle)', '(program)', '(root)'] as const;

/** Node's own JavaScript (`node:internal/…`, `node:http`, …). */
export const NODE_INTERNAL = 'node (internal)';

/** Native frames (no URL) with no JavaScript caller to charge them to. */
export const NATIVE = '(native)';

/** Anything else with a URL that is neither a dependency, Node nor a workspace. */
export const OTHER = '(other)';

/** Names the workspace package a source file (absolute path) belongs to, if any. */
export type WorkspaceResolver = (file: string) => string | undefined;

const workspaceNames = new Map<string, string | undefined>();

/** The `name` of the nearest package.json above `file` (our workspaces: `@emporium/…`). */
export function nearestPackageName(file: string): string | undefined {
  const dir = dirname(file);
  if (workspaceNames.has(dir)) return workspaceNames.get(dir);
  let name: string | undefined;
  const manifest = join(dir, 'package.json');
  if (existsSync(manifest)) {
    const parsed = z
      .object({ name: z.string().optional() })
      .safeParse(JSON.parse(readFileSync(manifest, 'utf8')));
    name = parsed.success ? parsed.data.name : undefined;
  } else if (dirname(dir) !== dir) {
    name = nearestPackageName(dir);
  }
  workspaceNames.set(dir, name);
  return name;
}

/** The file system path of a frame's URL (file: URL or plain path); undefined for others. */
function pathOf(url: string): string | undefined {
  // tsx and other loaders may tag module URLs with a query; the file is what matters.
  const bare = url.replace(/[?#].*$/, '');
  if (bare.startsWith('file://')) return fileURLToPath(bare);
  if (bare.startsWith('/')) return bare;
  return undefined;
}

/**
 * The package a frame's code belongs to: `express` or `@opentelemetry/sdk-trace-base` for a
 * file under node_modules (the innermost one), `node (internal)` for Node's own modules, the
 * workspace's name for our sources. Undefined for a frame without a URL (native code), which
 * {@link summarise} charges to its nearest JavaScript caller.
 */
export function packageOfUrl(
  url: string,
  workspaceOf: WorkspaceResolver = nearestPackageName,
): string | undefined {
  if (url === '') return undefined;
  if (url.startsWith('node:') || url.startsWith('internal/')) return NODE_INTERNAL;
  const path = pathOf(url);
  if (path === undefined) return OTHER;
  const parts = path.split('/');
  const last = parts.lastIndexOf('node_modules');
  if (last >= 0) {
    const first = parts[last + 1];
    const second = parts[last + 2];
    if (first?.startsWith('@') && second) return `${first}/${second}`;
    if (first) return first;
  }
  return workspaceOf(path) ?? OTHER;
}

/** Where a frame's code is, for people: a path inside its package or the repo, 1-based line. */
export function locationOf(url: string, lineNumber: number, repoRoot?: string): string {
  if (url === '') return '(native)';
  const line = lineNumber >= 0 ? String(lineNumber + 1) : '?';
  const path = pathOf(url);
  if (path === undefined) return `${url}:${line}`;
  const parts = path.split('/');
  const last = parts.lastIndexOf('node_modules');
  if (last >= 0) return `${parts.slice(last + 1).join('/')}:${line}`;
  return `${repoRoot ? relative(repoRoot, path) : path}:${line}`;
}

/** The family a package belongs to in summaries: every `@opentelemetry/…` is one cost. */
export function packageFamily(name: string): string {
  return name.startsWith('@opentelemetry/') ? '@opentelemetry/*' : name;
}

/** Self time of one package. */
export interface PackageTime {
  readonly name: string;
  readonly ms: number;
  /** Of the profile's non-idle time, 0–1. */
  readonly share: number;
  /**
   * Self time plus the Node internals it called (a socket write under ioredis is ioredis's
   * cost); for `node (internal)` itself, what no package called: Node's own I/O and parsing.
   */
  readonly withNodeMs: number;
  readonly withNodeShare: number;
}

/** Self time of one function (one definition: name, file and line). */
export interface FunctionTime {
  readonly functionName: string;
  readonly packageName: string;
  readonly location: string;
  readonly ms: number;
  /** Of the profile's non-idle time, 0–1. */
  readonly share: number;
}

/** A profile (or a time window of it) reduced to self time by package and by function. */
export interface ProfileSummary {
  /** Samples counted (those inside the window). */
  readonly samples: number;
  /** The counted samples times the sampling interval, idle included, in ms. */
  readonly totalMs: number;
  readonly idleMs: number;
  /** totalMs less idle: what the shares are of. */
  readonly busyMs: number;
  /** Every package and pseudo-frame, most self time first. */
  readonly packages: readonly PackageTime[];
  /** The functions with the most self time, `top` of them. */
  readonly functions: readonly FunctionTime[];
}

/** Options of {@link summarise}. */
export interface SummaryOptions {
  /** Only samples taken in [fromUs, toUs) on the profile's clock (process.hrtime's, in µs). */
  readonly window?: { readonly fromUs: number; readonly toUs: number };
  /** How many functions to list; 15 by default. */
  readonly top?: number;
  readonly workspaceOf?: WorkspaceResolver;
  /** Paths of our sources are shown relative to it. */
  readonly repoRoot?: string;
  /** The source line of a compiled position (tsx puts each module on one line). */
  readonly originalLine?: (url: string, line: number, column: number) => number | undefined;
}

type Node = CpuProfile['nodes'][number];

function isPseudo(name: string): boolean {
  return (PSEUDO_FRAMES as readonly string[]).includes(name);
}

/** The sampling interval a profile ran at: the median gap between samples, in µs. */
function medianInterval(timeDeltas: readonly number[]): number {
  // The first delta runs from the profile's start to the first sample, not between samples.
  const gaps = timeDeltas.slice(1).filter((d) => d > 0);
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)] ?? 0;
}

/**
 * Self time per tree node, in µs: its samples times the sampling interval. Samples are
 * counted, not timed by the gaps between them: the sampler interrupts the thread only while
 * it runs, so a thread that waited for a core (a busy, shared machine) shows a long gap, not
 * more samples, and counting keeps that wait out of the code it happened to be in. Without
 * samples, hitCount times the mean interval.
 */
function selfTimes(profile: CpuProfile, window: SummaryOptions['window']): Map<number, number> {
  const times = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  if (samples && timeDeltas && samples.length > 0 && samples.length === timeDeltas.length) {
    const interval = medianInterval(timeDeltas);
    let at = profile.startTime;
    samples.forEach((id, i) => {
      at += timeDeltas[i] ?? 0;
      if (window && (at < window.fromUs || at >= window.toUs)) return;
      times.set(id, (times.get(id) ?? 0) + interval);
    });
    return times;
  }
  if (window) throw new Error('a time window needs the profile’s samples and timeDeltas');
  const hits = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
  const interval = hits > 0 ? (profile.endTime - profile.startTime) / hits : 0;
  for (const n of profile.nodes) if (n.hitCount) times.set(n.id, n.hitCount * interval);
  return times;
}

/** Samples inside the window (all of them without one). */
function countSamples(profile: CpuProfile, window: SummaryOptions['window']): number {
  const { samples, timeDeltas } = profile;
  if (!samples || !timeDeltas) return profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
  if (!window) return samples.length;
  let t = profile.startTime;
  let n = 0;
  for (const delta of timeDeltas) {
    t += delta;
    if (t >= window.fromUs && t < window.toUs) n++;
  }
  return n;
}

/**
 * Self time by package and the top functions by self time. Pseudo-frames ((garbage
 * collector), (idle), (program)) stay rows of their own; native frames without a URL are
 * charged to the package of their nearest JavaScript caller (JSON.stringify called by pino is
 * pino's cost) and listed as functions under it. Shares are of non-idle time.
 */
export function summarise(profile: CpuProfile, options: SummaryOptions = {}): ProfileSummary {
  const workspaceOf = options.workspaceOf ?? nearestPackageName;
  const byId = new Map<number, Node>(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);

  const packageCache = new Map<number, string>();
  const packageOfNode = (id: number): string => {
    const cached = packageCache.get(id);
    if (cached !== undefined) return cached;
    const node = byId.get(id);
    let name: string;
    if (!node) name = NATIVE;
    else if (isPseudo(node.callFrame.functionName))
      name = node.callFrame.url === '' ? node.callFrame.functionName : OTHER;
    else {
      const own = packageOfUrl(node.callFrame.url, workspaceOf);
      const up = parent.get(id);
      name =
        own ??
        (up === undefined || byId.get(up)?.callFrame.functionName === '(root)'
          ? NATIVE
          : packageOfNode(up));
    }
    packageCache.set(id, name);
    return name;
  };

  const times = selfTimes(profile, options.window);
  const idleUs = [...times].reduce(
    (sum, [id, us]) => (byId.get(id)?.callFrame.functionName === '(idle)' ? sum + us : sum),
    0,
  );
  const totalUs = [...times.values()].reduce((a, b) => a + b, 0);
  const busyUs = totalUs - idleUs;
  const share = (us: number): number => (busyUs > 0 ? us / busyUs : 0);

  /** The nearest caller that is a package's code, for time spent inside Node's internals. */
  const callerOf = (id: number): string => {
    for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
      const name = packageOfNode(up);
      if (name !== NODE_INTERNAL && name !== NATIVE && !isPseudo(name)) return name;
    }
    return NODE_INTERNAL;
  };

  const packages = new Map<string, number>();
  const withNode = new Map<string, number>();
  const functions = new Map<string, { fn: Omit<FunctionTime, 'ms' | 'share'>; us: number }>();
  for (const [id, us] of times) {
    const node = byId.get(id);
    if (!node || us === 0) continue;
    const packageName = packageOfNode(id);
    packages.set(packageName, (packages.get(packageName) ?? 0) + us);
    const payer = packageName === NODE_INTERNAL ? callerOf(id) : packageName;
    withNode.set(payer, (withNode.get(payer) ?? 0) + us);
    if (packageName === '(idle)') continue;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    // One row per definition (tsx's modules are one line: the column tells them apart),
    // however many call paths reach it.
    const key = [functionName, url, lineNumber, columnNumber, packageName].join('\u0000');
    const line = options.originalLine?.(url, lineNumber, columnNumber) ?? lineNumber;
    const entry = functions.get(key) ?? {
      fn: {
        functionName: functionName || '(anonymous)',
        packageName,
        location: locationOf(url, line, options.repoRoot),
      },
      us: 0,
    };
    entry.us += us;
    functions.set(key, entry);
  }

  return {
    samples: countSamples(profile, options.window),
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: busyUs / 1000,
    // A package that only ever ran Node's internals still has its row.
    packages: [...new Set([...packages.keys(), ...withNode.keys()])]
      .map((name) => {
        const us = packages.get(name) ?? 0;
        const charged = withNode.get(name) ?? 0;
        const idle = name === '(idle)';
        return {
          name,
          ms: us / 1000,
          share: idle ? 0 : share(us),
          withNodeMs: charged / 1000,
          withNodeShare: idle ? 0 : share(charged),
        };
      })
      .sort((a, b) => b.ms - a.ms),
    functions: [...functions.values()]
      .map(({ fn, us }) => ({ ...fn, ms: us / 1000, share: share(us) }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, options.top ?? 15),
  };
}

/** Self time of each package family (see {@link packageFamily}), most first. */
export function byFamily(summary: ProfileSummary): PackageTime[] {
  const families = new Map<string, PackageTime>();
  for (const p of summary.packages) {
    const name = packageFamily(p.name);
    const seen = families.get(name);
    families.set(name, {
      name,
      ms: (seen?.ms ?? 0) + p.ms,
      share: (seen?.share ?? 0) + p.share,
      withNodeMs: (seen?.withNodeMs ?? 0) + p.withNodeMs,
      withNodeShare: (seen?.withNodeShare ?? 0) + p.withNodeShare,
    });
  }
  return [...families.values()].sort((a, b) => b.ms - a.ms);
}
