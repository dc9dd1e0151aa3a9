import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ToolError } from './run.js';

const mavenTool = z.object({
  source: z.literal('maven'),
  version: z.string().min(1),
  /** group:artifact of the broker; its runtime dependencies come with it. */
  artifact: z.string().regex(/^[\w.-]+:[\w.-]+$/),
  /** Extra group:artifact:version coordinates put on the same classpath. */
  with: z.array(z.string().regex(/^[\w.-]+:[\w.-]+:[\w.-]+$/)).default([]),
});
/** A package path inside the module: `.` or `./cmd/...`. */
const goPackage = z.string().regex(/^\.(\/.+)?$/);
const goTool = z.object({
  source: z.literal('go'),
  version: z.string().regex(/^v\d+\.\d+\.\d+/),
  module: z.string().min(1),
  /**
   * The main package, or several built by one `go build` into bin/ (so the packages they share
   * compile once); each executable is named after its package's last path element.
   */
  package: z.union([goPackage, z.array(goPackage).min(1)]),
  /** The main executable in bin/. */
  binary: z.string().min(1),
  /** Files written into the module source before building; `{version}` stands for the version. */
  files: z.record(z.string(), z.string()).default({}),
  /**
   * Patch files (paths from the repository root, each with a header saying why it is right)
   * applied in order with `patch -p1` to the module source before building. Their contents are
   * part of the tool's cache folder name (see toolDir), so editing one rebuilds the tool.
   */
  patches: z.array(z.string().min(1)).default([]),
  /**
   * Extra `-ldflags` (besides `-s -w`), e.g. `-X` version stamps; `{version}` stands for the
   * version, `{major}` and `{minor}` for its numbers.
   */
  ldflags: z.array(z.string().min(1)).default([]),
  /** Environment for `go build`, over CGO_ENABLED=0 (static binaries, no C toolchain needed). */
  env: z.record(z.string(), z.string()).default({}),
  /** Files of the module kept next to bin/ (destination in the tool's folder: path in the module). */
  assets: z.record(z.string(), z.string()).default({}),
  /**
   * k8s.io/kubernetes: its go.mod points the k8s.io/* staging modules at ./staging, which its
   * module zip lacks, so build against their published v0.<minor>.<patch> releases instead.
   */
  publishedStaging: z.boolean().default(false),
});
const pypiTool = z.object({
  source: z.literal('pypi'),
  version: z.string().min(1),
  package: z.string().min(1),
  binary: z.string().min(1),
});
const debianTool = z.object({
  source: z.literal('debian'),
  /**
   * The major (or major.minor) version the binary must report, or `>=N` for at least major N
   * (a package Debian's security archive moves to each new major, such as Chromium).
   */
  version: z.string().min(1),
  package: z.string().min(1),
  binary: z.string().min(1),
  /** The flag that prints the version (wrk knows only `-v`, and exits 1 after it). */
  versionFlag: z.string().min(1).default('--version'),
  /**
   * Debian packages installed with it that it needs but only recommends (installs skip
   * recommends): buildah runs its RUN steps with runc.
   */
  with: z.array(z.string().min(1)).default([]),
});
const versionsFile = z.object({
  kafka: mavenTool,
  ferretdb: goTool,
  jaeger: goTool,
  helm: goTool,
  helm3: goTool,
  skaffold: goTool,
  envoy: pypiTool,
  schemathesis: pypiTool,
  redis: debianTool,
  prometheus: goTool,
  alertmanager: goTool,
  kubernetes: goTool,
  kine: goTool,
  kwok: goTool,
  wrk: debianTool,
  vegeta: goTool,
  buildah: debianTool,
  mmdebstrap: debianTool,
  chromium: debianTool,
  'kubernetes-node': goTool,
  containerd: goTool,
  coredns: goTool,
  iptables: debianTool,
});

/** A tool built from a Go module. */
export type GoToolSpec = z.infer<typeof goTool>;
/** A tool taken from Debian's packages. */
export type DebianToolSpec = z.infer<typeof debianTool>;
/** Every pinned tool, by name. */
export type ToolVersions = z.infer<typeof versionsFile>;
/** A key of tool-versions.json. */
export type ToolName = keyof ToolVersions;

/** The repository root: the nearest folder above this file holding tool-versions.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'tool-versions.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('tool-versions.json not found above ' + import.meta.url);
    dir = parent;
  }
}

let cached: ToolVersions | undefined;

/** The versions file: $EMPORIUM_TOOL_VERSIONS (for tests of provisioning) or the repo's own. */
export function toolVersionsFile(): string {
  const fromEnv = process.env.EMPORIUM_TOOL_VERSIONS;
  return fromEnv ? resolve(fromEnv) : join(repoRoot(), 'tool-versions.json');
}

/** Validates the contents of a versions file, listing every bad entry in one error. */
export function parseToolVersions(json: string, file: string): ToolVersions {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new ToolError('tool-versions', `${file} is not JSON: ${(err as Error).message}`);
  }
  const parsed = versionsFile.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ToolError('tool-versions', `${file} is invalid:\n  ${issues.join('\n  ')}`);
  }
  return parsed.data;
}

/** Reads and validates the versions file once. */
export function toolVersions(): ToolVersions {
  if (cached) return cached;
  const file = toolVersionsFile();
  cached = parseToolVersions(readFileSync(file, 'utf8'), file);
  return cached;
}

/** Where provisioned tools live: $EMPORIUM_CACHE or ~/.cache/emporium. */
export function cacheRoot(): string {
  const fromEnv = process.env.EMPORIUM_CACHE;
  return fromEnv ? resolve(fromEnv) : join(homedir(), '.cache', 'emporium');
}

/**
 * The cache folder of one tool at its pinned version, e.g. ~/.cache/emporium/kafka-4.1.1; a Go
 * tool built with patches gets their digest too (ferretdb-1.24.2-p0123abcd), so a build without
 * them, or with other contents, is never taken for it.
 */
export function toolDir(name: ToolName): string {
  const spec = toolVersions()[name];
  const version = spec.version.replace(/^v/, '');
  const patches = 'patches' in spec ? spec.patches : [];
  const suffix = patches.length > 0 ? `-p${patchesDigest(patches).slice(0, 8)}` : '';
  return join(cacheRoot(), `${name}-${version}${suffix}`);
}

/** A patch file's path from the repository root (or an absolute path). */
export function patchFile(path: string): string {
  return resolve(repoRoot(), path);
}

/** The sha256 (hex) of the patch files' names and contents, in order. */
export function patchesDigest(patches: readonly string[]): string {
  const hash = createHash('sha256');
  for (const patch of patches) {
    let content: Buffer;
    try {
      content = readFileSync(patchFile(patch));
    } catch (err) {
      throw new ToolError('tool-versions', `patch ${patch}: ${(err as Error).message}`);
    }
    hash.update(`${patch}\0${String(content.length)}\0`).update(content);
  }
  return hash.digest('hex');
}
