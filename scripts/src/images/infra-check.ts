import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../cli.js';
import { output } from './buildah.js';
import {
  infraImage,
  manifestContainers,
  type InfraName,
  type InfraRecipe,
  type ManifestContainer,
  type Probe,
} from './infra.js';

/**
 * The arguments the chart's Envoy sidecar passes (templates/mesh/envoy/_sidecar.tpl with the
 * default values: logLevel warn, concurrency 2); the tests hold the template to them.
 */
export const ENVOY_SIDECAR_ARGS: readonly string[] = [
  '--config-path',
  '/etc/envoy/envoy.yaml',
  '--log-level',
  'warn',
  '--concurrency',
  '2',
  '--disable-hot-restart',
];

/** The chart's sidecar user (the distroless image's nonroot). */
const ENVOY_SIDECAR_USER = 65532;

/** A bootstrap for the check: the admin listener alone, whose /ready the chart probes. */
const ENVOY_CHECK_BOOTSTRAP = `admin:
  address:
    socket_address: { address: 127.0.0.1, port_value: 9901 }
`;

/** How one image is run by its check: the manifest's view of it, or the chart's, or its own. */
export interface InfraCheckPlan {
  user: number;
  group: number;
  /** Replaces the image's Cmd, as a manifest's `args` does. */
  args?: string[];
  env: Record<string, string>;
  /** Files put in the container first (path to contents): the manifest's ConfigMaps. */
  files: Record<string, string>;
  /** Where it may write: the manifest's volumes (anything else is reported). */
  writable: string[];
  /** Ready when this passes. */
  probe: Probe;
  /** And, when set, when the log holds this. */
  logLine?: string;
  timeoutSeconds: number;
}

/** The container of k8s/ that names an upstream image. */
export function manifestContainerFor(upstream: string): ManifestContainer | undefined {
  return manifestContainers().find((container) => container.image === upstream);
}

/** How the check runs one image: as the manifest runs it, where a manifest does. */
export function infraCheckPlan(recipe: InfraRecipe): InfraCheckPlan {
  const [imageUser = 0, imageGroup = 0] = recipe.user.split(':').map(Number);
  if (recipe.name === 'envoy') {
    return {
      user: ENVOY_SIDECAR_USER,
      group: ENVOY_SIDECAR_USER,
      args: [...ENVOY_SIDECAR_ARGS],
      env: {},
      files: { '/etc/envoy/envoy.yaml': ENVOY_CHECK_BOOTSTRAP },
      // The sidecar mounts its bootstrap alone, read-only.
      writable: [],
      probe: { kind: 'http', port: 9901, path: '/ready' },
      timeoutSeconds: 30,
    };
  }
  if (recipe.name === 'prometheus') {
    // No manifest runs it yet (the e2e deploys its own): its defaults, as prom/prometheus's.
    return {
      user: imageUser,
      group: imageGroup,
      env: {},
      files: {},
      writable: ['/prometheus'],
      probe: { kind: 'http', port: 9090, path: '/-/ready' },
      timeoutSeconds: 30,
    };
  }
  const upstream = infraImage(recipe.name).upstream;
  const container = manifestContainerFor(upstream);
  if (!container) throw new CliError(`no container in k8s/ runs ${upstream}`);
  if (!container.readiness) throw new CliError(`${container.file} has no readiness probe`);
  const files: Record<string, string> = {};
  for (const [dir, data] of Object.entries(container.configFiles)) {
    for (const [name, contents] of Object.entries(data)) files[`${dir}/${name}`] = contents;
  }
  return {
    user: container.user ?? imageUser,
    group: container.group ?? container.user ?? imageGroup,
    ...(container.args ? { args: container.args } : {}),
    env: container.env,
    files,
    writable: container.mounts,
    probe: container.readiness,
    // Kafka's port opens before it has elected itself controller; its log says when it has.
    ...(recipe.name === 'kafka' ? { logLine: 'Kafka Server started' } : {}),
    timeoutSeconds: recipe.name === 'kafka' ? 120 : 30,
  };
}

/** A word quoted for bash. */
function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The probe as a bash condition (bash's /dev/tcp: the images have no curl). */
function probeCondition(probe: Probe): string {
  switch (probe.kind) {
    case 'http':
      return `http_ok ${String(probe.port)} ${quote(probe.path)}`;
    case 'tcp':
      return `tcp_ok ${String(probe.port)}`;
    case 'exec':
      return `${probe.command.map(quote).join(' ')} >/dev/null 2>&1`;
  }
}

/**
 * The check's script: starts the image's entrypoint ("$@") in the background, waits for the
 * probe (and log line), reports the uid it runs as and how long it took, then stops it with
 * SIGTERM as the kubelet would.
 */
export function infraCheckScript(plan: InfraCheckPlan): string {
  const ready = [
    probeCondition(plan.probe),
    ...(plan.logLine ? [`grep -q ${quote(plan.logLine)} "$log"`] : []),
  ].join(' && ');
  const skip = ['/proc', '/sys', '/dev', '/tmp/infra-check.*', ...plan.writable]
    .map((path) => `-path ${quote(path)}`)
    .join(' -o ');
  return `set -u
log=/tmp/infra-check.log
touch /tmp/infra-check.start
# HTTP/1.1: Envoy refuses HTTP/1.0 (426) unless told to accept it.
http_ok() {
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'GET %s HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' "$2" >&3
  IFS= read -r status <&3 || status=
  exec 3<&- 3>&-
  case $status in *" 200 "*) return 0 ;; esac
  return 1
}
tcp_ok() { { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1; exec 3<&- 3>&-; }
started=$(date +%s%N)
"$@" >"$log" 2>&1 &
pid=$!
until ${ready}; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "exited before it was ready:" >&2; tail -n 30 "$log" >&2; exit 1
  fi
  if [ $(( ($(date +%s%N) - started) / 1000000000 )) -ge ${String(plan.timeoutSeconds)} ]; then
    echo "not ready in ${String(plan.timeoutSeconds)} s:" >&2; tail -n 30 "$log" >&2
    kill -9 "$pid"; exit 1
  fi
  sleep 0.2
done
echo "ready uid=$(id -u) gid=$(id -g) ms=$(( ($(date +%s%N) - started) / 1000000 ))"
kill -TERM "$pid"
( sleep 30; kill -9 "$pid" 2>/dev/null ) &
wait "$pid"
echo "stopped=$?"
# What it wrote outside its volumes (/tmp itself changed with the check's own files).
find / -xdev \\( ${skip} \\) -prune -o -newer /tmp/infra-check.start ! -path /tmp -print |
  sed 's/^/wrote=/'
`;
}

/** What an image's check saw. */
export interface InfraImageCheck {
  uid: number;
  gid: number;
  /** From start to ready, in milliseconds. */
  readyMs: number;
  /** The exit status after SIGTERM (143 when the process dies of it, 0 when it exits cleanly). */
  stopped: number;
  /** Paths it wrote outside the volumes its manifest mounts (none expected). */
  wrote: string[];
}

/** The parts of an OCI image config the check reads. */
interface ImageConfig {
  Entrypoint?: string[];
  Cmd?: string[];
}

/**
 * Runs an infrastructure image for real (buildah run, no network), as its manifest runs it: the
 * manifest's uid and gid, env, args and ConfigMap files; it must pass the manifest's readiness
 * probe, then it is stopped with SIGTERM.
 */
export async function checkInfraImage(
  buildah: string,
  name: InfraName,
  recipe: InfraRecipe,
): Promise<InfraImageCheck> {
  const image = infraImage(name).image;
  const plan = infraCheckPlan(recipe);
  const inspected = JSON.parse(await output(buildah, ['inspect', '--type', 'image', image])) as {
    OCIv1?: { config?: ImageConfig };
  };
  const config = inspected.OCIv1?.config ?? {};
  const command = [...(config.Entrypoint ?? []), ...(plan.args ?? config.Cmd ?? [])];
  if (command.length === 0) throw new CliError(`${image} has no entrypoint`);
  const work = await mkdtemp(join(tmpdir(), 'emporium-infra-check-'));
  const container = (await output(buildah, ['from', '--quiet', image])).trim();
  // The kubelet gives a pod an /etc/hosts naming it, and Kafka resolves its own host name;
  // buildah run with no network writes none, so the check writes the pod's.
  const hostname = `${name}-0`;
  const files: Record<string, string> = {
    ...plan.files,
    '/etc/hosts': `127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\t${hostname}\n`,
    '/tmp/infra-check.sh': infraCheckScript(plan),
  };
  try {
    let index = 0;
    for (const [path, contents] of Object.entries(files)) {
      const local = join(work, String(index++));
      await writeFile(local, contents, { mode: 0o644 });
      await output(buildah, ['copy', '--chown', '0:0', container, local, path]);
    }
    const env = Object.entries(plan.env).flatMap(([key, value]) => ['--env', `${key}=${value}`]);
    const out = await output(buildah, [
      'run',
      '--network',
      'none',
      '--hostname',
      hostname,
      '--user',
      `${String(plan.user)}:${String(plan.group)}`,
      ...env,
      container,
      '--',
      'bash',
      '/tmp/infra-check.sh',
      ...command,
    ]).catch((err: unknown) => {
      throw new CliError(`${image} failed its check: ${err instanceof Error ? err.message : ''}`);
    });
    const ready = /^ready uid=(\d+) gid=(\d+) ms=(\d+)$/m.exec(out);
    if (!ready) throw new CliError(`${image} failed its check:\n${out}`);
    return {
      uid: Number(ready[1]),
      gid: Number(ready[2]),
      readyMs: Number(ready[3]),
      stopped: Number(/^stopped=(\d+)$/m.exec(out)?.[1] ?? NaN),
      wrote: [...out.matchAll(/^wrote=(.*)$/gm)].map((match) => match[1] ?? ''),
    };
  } finally {
    await output(buildah, ['rm', container]).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}
