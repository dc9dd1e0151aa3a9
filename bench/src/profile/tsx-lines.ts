// Maps profile positions in our TypeScript back to source lines. tsx compiles each .ts file
// with esbuild's minifyWhitespace, so V8 sees every module on one line and a profile says
// "line 1, column 4749" for every function of ours. tsx keeps each compiled module with its
// source map in its cache folder; the entry V8 ran is found by the functions it must contain.
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { CpuProfile } from './cpuprofile.js';

/** Maps a frame's 0-based position in compiled code to the 0-based source line, if known. */
export type LineResolver = (url: string, line: number, column: number) => number | undefined;

/** tsx's cache folder (its temporary-directory module names it so). */
function tsxCacheDir(): string {
  const user = process.geteuid ? String(process.geteuid()) : userInfo().username;
  return join(tmpdir(), `tsx-${user}`);
}

const entry = z.object({
  code: z.string(),
  map: z.object({
    version: z.number(),
    sources: z.array(z.string()),
    names: z.array(z.string()),
    mappings: z.string(),
    file: z.string().optional(),
    sourceRoot: z.string().optional(),
  }),
});

/** The last bytes of a file: a cache entry's source list sits at its end. */
function tail(file: string, bytes: number): string {
  const fd = openSync(file, 'r');
  try {
    const size = statSync(file).size;
    const buffer = Buffer.alloc(Math.min(bytes, size));
    readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Named functions of `file` the profile saw, with their compiled positions. */
function namedFrames(profile: CpuProfile, url: string): { name: string; column: number }[] {
  return profile.nodes
    .filter((n) => n.callFrame.url === url && n.callFrame.functionName !== '')
    .map((n) => ({ name: n.callFrame.functionName, column: n.callFrame.columnNumber }));
}

/**
 * A resolver for the TypeScript files (file: URLs ending .ts) the profiles ran through tsx.
 * Among a file's cache entries (older versions of the file stay cached) it takes the one in
 * which most of the profile's named functions map to a source line that names them; files it
 * cannot place keep V8's position.
 */
export function tsxLineResolver(profiles: readonly CpuProfile[]): LineResolver {
  const urls = new Set<string>();
  for (const p of profiles)
    for (const n of p.nodes) if (/^file:.*\.ts$/.test(n.callFrame.url)) urls.add(n.callFrame.url);
  const wanted = new Map([...urls].map((url) => [fileURLToPath(url), url]));
  const candidates = new Map<string, string[]>();
  const dir = tsxCacheDir();
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    // No cache (TSX_DISABLE_CACHE, another user): the positions stay as V8 gave them.
    return () => undefined;
  }
  // Entries are named <version>-<sha1>; the folder also holds tsx's IPC sockets.
  for (const name of files.filter((f) => /^\d+-[0-9a-f]{40}$/.test(f))) {
    const file = join(dir, name);
    let end: string;
    try {
      end = tail(file, 4096);
    } catch {
      continue;
    }
    const sources = /"sources":(\[[^\]]*\])/.exec(end)?.[1];
    if (!sources) continue;
    for (const source of z.array(z.string()).parse(JSON.parse(sources))) {
      if (wanted.has(source)) candidates.set(source, [...(candidates.get(source) ?? []), file]);
    }
  }
  const maps = new Map<string, SourceMap>();
  for (const [path, entries] of candidates) {
    const url = wanted.get(path) ?? '';
    const lines = readFileSync(path, 'utf8').split('\n');
    const frames = profiles.flatMap((p) => namedFrames(p, url));
    let best: { map: SourceMap; score: number } | undefined;
    for (const file of entries) {
      const parsed = entry.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      // A CommonJS compile (tsx wraps those in a __filename prologue) is not what ESM ran.
      if (!parsed.success || parsed.data.code.startsWith('__filename=')) continue;
      const map = new SourceMap(parsed.data.map as SourceMapPayload);
      const score = frames.filter(({ name, column }) => {
        const found = map.findEntry(0, column);
        const line = 'originalLine' in found ? lines[found.originalLine] : undefined;
        return line?.includes(name.split('.').at(-1) ?? name) ?? false;
      }).length;
      if (!best || score > best.score) best = { map, score };
    }
    if (best && (best.score > 0 || frames.length === 0)) maps.set(url, best.map);
  }
  return (url, line, column) => {
    const map = maps.get(url);
    if (!map || line !== 0) return undefined;
    const found = map.findEntry(line, column);
    return 'originalLine' in found ? found.originalLine : undefined;
  };
}
