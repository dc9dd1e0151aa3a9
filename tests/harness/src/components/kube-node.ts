import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, processRunning, type ManagedProcess } from '../process.js';
import { cacheRoot, repoRoot } from '../tools/catalogue.js';
import { ensureTool, requireCommand, withLock } from '../tools/provision.js';
import { capture, runCommand, runLogged, ToolError } from '../tools/run.js';
import { loadImagesIntoNode } from './node-images.js';

/**
 * The real node: kubelet, containerd (with Debian's runc), kube-proxy and CoreDNS as processes
 * in a network namespace of their own, so that the bridge, the pods' veths and every iptables
 * rule live there and the host's network is left as it was. Its address is on a veth inside
 * that namespace; the API server (on the host's 127.0.0.1) is reached through a socat
 * relay over a Unix socket, which is the one path between the two namespaces. There is one real
 * node per machine (the names below are fixed), and whatever it leaves is removed by
 * {@link cleanRealNode}, which `npm run kube:down` also runs.
 */

/** The node's name and its network namespace's. */
export const REAL_NODE_NAME = 'emporium-node';
/** The node's InternalIP (on a veth inside its namespace); kwok nodes report it too. */
export const NODE_IP = '10.240.0.1';
/** The `kube-dns` Service's ClusterIP, the pods' nameserver. */
export const CLUSTER_DNS_IP = '10.96.0.10';
/** The node's pods' addresses (a /24 of the cluster's 10.244.0.0/16). */
const POD_SUBNET = '10.244.0.0/24';
/** Sockets, the runtime's state and the pods' namespaces: on tmpfs, gone with the machine. */
const RUN_DIR = '/run/emporium-node';
/** Every pod's cgroup sits under this one, in each cgroup v1 hierarchy. */
const CGROUP_ROOT = '/emporium-node';
/** The image holding each pod's namespaces; built here from assets/pause (nothing is pulled). */
export const SANDBOX_IMAGE = 'localhost/emporium/pause:dev';
const NETNS_PATH = `/run/netns/${REAL_NODE_NAME}`;
/** On every object the node adds to the cluster. */
const HARNESS_LABELS = { 'app.kubernetes.io/managed-by': 'emporium-harness' };

/** Where the node keeps files: the kubelet's (removed on stop) and containerd's image store (kept). */
function nodeDir(): string {
  return join(cacheRoot(), 'node');
}
const kubeletDir = (): string => join(nodeDir(), 'kubelet');
/** Where the kubelet writes container logs: `<namespace>_<pod>_<uid>/<container>/<restart>.log`. */
export const nodePodLogsDir = (): string => join(kubeletDir(), 'pod-logs');
/** The folders behind the node's PersistentVolumes (removed with the node). */
const volumesDir = (): string => join(nodeDir(), 'volumes');
/** How many PersistentVolumes the node offers (k8s/ claims two: Kafka's and MongoDB's). */
const VOLUMES = 6;
const containerdRoot = (): string => join(nodeDir(), 'containerd');
const containerdSocket = join(RUN_DIR, 'containerd.sock');
/** The node's containerd socket: images are loaded through it from outside the node's process too. */
export const NODE_CONTAINERD_SOCKET = containerdSocket;

/** Starts one process; the control plane records it so that kube:down ends it. */
export type NodeProcessStarter = (
  name: string,
  command: string,
  args: string[],
  ready: () => Promise<boolean>,
  /** What the process's argv[0] will be once it runs (nsenter execs the binary). */
  runs?: string,
) => Promise<ManagedProcess>;

/** The node's components that talk to the API server, each with a client certificate. */
export type NodeClient = 'kubelet' | 'kube-proxy' | 'coredns';

/** What the node needs from its control plane. */
export interface RealNodeContext {
  /** The API server's port on the host's 127.0.0.1; the relay offers it at NODE_IP too. */
  apiPort: number;
  /** The cluster CA, PEM: the kubelet checks the API server's client certificates with it. */
  caCert: string;
  /** A kubeconfig (its text) for `client`, against `server`, with its certificate inlined. */
  kubeconfig(client: NodeClient, server: string): string;
  start: NodeProcessStarter;
  /** kubectl against the cluster as an administrator. */
  kubectl(args: readonly string[], options?: { stdin?: string }): Promise<{ stdout: string }>;
}

/** A running real node. */
export interface RealNode {
  readonly name: string;
  /** Imports images from buildah's store into the node's runtime (skips those already there). */
  loadImages(images: readonly string[]): Promise<string[]>;
  /**
   * Makes `host:port` as seen from inside the node (a ClusterIP, a pod IP) reachable at the
   * returned 127.0.0.1 URL on the host, through socat relays; they end with the node.
   */
  expose(host: string, port: number): Promise<string>;
  /** containerd's CLI against the node's runtime, in the k8s.io namespace. */
  ctr(args: readonly string[]): Promise<string>;
  /** Ends the node's processes and removes its containers, mounts, namespaces and cgroups. */
  stop(): Promise<void>;
}

/** A kubeconfig for a node component, reaching the API server through the relay. */
function nodeKubeconfig(ctx: RealNodeContext, client: NodeClient): string {
  return ctx.kubeconfig(client, `https://${NODE_IP}:${String(ctx.apiPort)}`);
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new ToolError(
      'kube-node',
      'a real node needs root (network namespaces, mounts, cgroups and runc); run as root or use the kwok nodes',
    );
  }
}

/** Runs a command inside the node's network namespace (and only that: mounts stay shared). */
function inNode(command: string, args: readonly string[]): [string, string[]] {
  return [
    requireCommand('kube-node', 'nsenter', 'util-linux'),
    [`--net=${NETNS_PATH}`, '--', command, ...args],
  ];
}

/** The v1 hierarchies (and the unified one) mounted under /sys/fs/cgroup. */
function cgroupHierarchies(): string[] {
  const base = '/sys/fs/cgroup';
  if (existsSync(join(base, 'cgroup.controllers'))) return [base];
  return readdirSync(base)
    .map((name) => join(base, name))
    .filter((dir) => existsSync(join(dir, 'cgroup.procs')));
}

/** `dir` and every folder under it, deepest first; none when `dir` does not exist. */
async function foldersDeepestFirst(dir: string): Promise<string[]> {
  const found: string[] = [];
  if (!existsSync(dir)) return found;
  const walk = async (at: string): Promise<void> => {
    const entries = await readdir(at, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.isDirectory()) await walk(join(at, entry.name));
    }
    found.push(at);
  };
  await walk(dir);
  return found;
}

/** Mount points at or under any of `roots`, deepest first, from this process's mount table. */
function mountsUnder(roots: readonly string[]): string[] {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    // mountinfo escapes spaces and the like as octal (\040).
    .map((p) => p?.replace(/\\(\d{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))))
    .filter((p): p is string => p !== undefined)
    .filter((p) => roots.some((root) => p === root || p.startsWith(`${root}/`)));
  return [...new Set(points)].sort((a, b) => b.split('/').length - a.split('/').length);
}

/** Pids whose command line mentions the node's run folder: its daemons, shims and relays. */
function nodePids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(RUN_DIR)) pids.push(pid);
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

async function killAndWait(pids: readonly number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some((pid) => processRunning(pid)) && Date.now() < deadline) await sleep(50);
}

/**
 * Removes everything a real node leaves behind, whether it stopped cleanly or its processes
 * were killed: its daemons, shims and relays, every container process in its cgroups, the
 * mounts under its folders (pod volumes, root file systems, pod network namespaces), its network
 * namespace (with the bridge and iptables rules in it), its cgroups and its folders. containerd's
 * image store is kept, so the next node starts without importing the images again. Resolves with
 * what it removed, for kube:down to report.
 */
export async function cleanRealNode(): Promise<string[]> {
  const removed: string[] = [];
  // Daemons first (SIGKILL: the kubelet would restart what we end), then what ran in the pods.
  const daemons = nodePids();
  if (daemons.length > 0) removed.push(`${String(daemons.length)} node processes`);
  await killAndWait(daemons);
  const hierarchies = cgroupHierarchies();
  const inPods: number[] = [];
  for (const hierarchy of hierarchies) {
    for (const dir of await foldersDeepestFirst(join(hierarchy, CGROUP_ROOT))) {
      const procs = (await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean);
      inPods.push(...procs.map(Number));
    }
  }
  const containerPids = [...new Set(inPods)];
  if (containerPids.length > 0) removed.push(`${String(containerPids.length)} container processes`);
  await killAndWait(containerPids);
  const umount = requireCommand('kube-node', 'umount', 'util-linux');
  const mounts = mountsUnder([RUN_DIR, nodeDir()]);
  for (const point of mounts) {
    // Lazy: a mount still busy for a moment is detached now and freed when released.
    await runCommand('umount', umount, ['--lazy', point]).catch(() => undefined);
  }
  if (mounts.length > 0) removed.push(`${String(mounts.length)} mounts`);
  if (existsSync(NETNS_PATH)) {
    await runCommand('ip', requireCommand('kube-node', 'ip', 'iproute2'), [
      'netns',
      'delete',
      REAL_NODE_NAME,
    ]);
    removed.push(`network namespace ${REAL_NODE_NAME}`);
  }
  let cgroups = 0;
  for (const hierarchy of hierarchies) {
    for (const dir of await foldersDeepestFirst(join(hierarchy, CGROUP_ROOT))) {
      if (!existsSync(dir)) continue;
      // A killed task leaves its cgroup a moment after it is gone: retry for a few seconds.
      for (let attempt = 0; ; attempt += 1) {
        const gone = await rmdir(dir).then(
          () => true,
          () => !existsSync(dir),
        );
        if (gone || attempt >= 50) break;
        await sleep(100);
      }
      cgroups += 1;
    }
  }
  if (cgroups > 0) removed.push(`${String(cgroups)} cgroups`);
  // Nothing is mounted under these any more, so removing them cannot reach into anything else.
  if (mountsUnder([RUN_DIR, kubeletDir(), volumesDir()]).length > 0) {
    throw new ToolError('kube-node', `mounts are left under ${RUN_DIR} or ${nodeDir()}`);
  }
  await rm(RUN_DIR, { recursive: true, force: true });
  await rm(kubeletDir(), { recursive: true, force: true });
  await rm(volumesDir(), { recursive: true, force: true });
  return removed;
}

/** Builds the sandbox image (a static pause binary, one layer) into buildah's store once. */
async function ensureSandboxImage(buildah: string): Promise<void> {
  await withLock('sandbox-image', async () => {
    const existing = await capture(buildah, ['images', '--quiet', SANDBOX_IMAGE]).catch(() => '');
    if (existing.trim() !== '') return;
    const go = requireCommand('kube-node', 'go', 'the Go toolchain builds the pause binary');
    const work = join(cacheRoot(), 'node', 'pause-build');
    await mkdir(work, { recursive: true });
    const logFile = join(cacheRoot(), 'logs', 'pause.log');
    const binary = join(work, 'pause');
    await runLogged(
      go,
      [
        'build',
        '-trimpath',
        '-ldflags=-s -w',
        '-o',
        binary,
        join(repoRoot(), 'tests', 'harness', 'assets', 'pause', 'main.go'),
      ],
      { tool: 'kube-node', logFile, cwd: work, env: { ...process.env, CGO_ENABLED: '0' } },
    );
    const container = (await capture(buildah, ['from', 'scratch'])).trim();
    try {
      await runLogged(buildah, ['copy', container, binary, '/pause'], {
        tool: 'kube-node',
        logFile,
      });
      await runLogged(
        buildah,
        ['config', '--entrypoint', '["/pause"]', '--cmd', '', '--user', '65535:65535', container],
        { tool: 'kube-node', logFile },
      );
      await runLogged(buildah, ['commit', '--rm', container, SANDBOX_IMAGE], {
        tool: 'kube-node',
        logFile,
      });
    } catch (err) {
      await capture(buildah, ['rm', container]).catch(() => '');
      throw err;
    }
    await rm(work, { recursive: true, force: true });
  });
}

/**
 * Starts the real node and resolves once its kubelet has registered it (startKubernetes then
 * waits for it to be Ready, as for the kwok nodes), with the sandbox image loaded, kube-proxy
 * and CoreDNS (for cluster.local, at {@link CLUSTER_DNS_IP}) running.
 */
export async function startRealNode(ctx: RealNodeContext): Promise<RealNode> {
  requireRoot();
  const [node, containerd, coredns, net, buildah] = await Promise.all([
    ensureTool('kubernetes-node'),
    ensureTool('containerd'),
    ensureTool('coredns'),
    ensureTool('iptables'),
    ensureTool('buildah'),
  ]);
  const ip = requireCommand('kube-node', 'ip', 'iproute2');
  const socat = requireCommand('kube-node', 'socat', 'Debian package socat');
  await ensureSandboxImage(buildah.bin);
  const running = nodePids().filter((pid) => {
    try {
      const argv0 = readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8').split('\0')[0];
      return argv0 === node.bin || argv0 === containerd.bin;
    } catch {
      return false; // It ended meanwhile.
    }
  });
  if (running.length > 0) {
    throw new ToolError(
      'kube-node',
      `a real node is already running here (pids ${running.join(', ')}); \`npm run kube:down\` ends it`,
    );
  }
  // Whatever a killed run left (mounts, namespaces, cgroups) would hold the names below.
  await cleanRealNode();
  await mkdir(RUN_DIR, { recursive: true });
  await mkdir(kubeletDir(), { recursive: true });
  await mkdir(containerdRoot(), { recursive: true });
  // Configuration under RUN_DIR too, so that every daemon's command line names RUN_DIR and
  // cleanRealNode finds them all, even after the process that started them was killed.
  const configDir = join(RUN_DIR, 'config');
  const cfg = (name: string): string => join(configDir, name);
  await mkdir(configDir, { recursive: true });

  const stopNode = async (): Promise<void> => {
    await cleanRealNode();
  };
  try {
    // The namespace: loopback, and the node's address on one end of a veth pair whose other end
    // stays in the namespace too (this kernel has no dummy interfaces), with the default route,
    // so that ClusterIPs (which no interface holds) leave through it to kube-proxy's NAT.
    const ipRun = (args: string[]): Promise<unknown> => runCommand('ip', ip, args);
    const inNs = (args: string[]): Promise<unknown> => ipRun(['-n', REAL_NODE_NAME, ...args]);
    await ipRun(['netns', 'add', REAL_NODE_NAME]);
    await inNs(['link', 'set', 'lo', 'up']);
    await inNs(['link', 'add', 'node0', 'type', 'veth', 'peer', 'name', 'node0-end']);
    await inNs(['address', 'add', `${NODE_IP}/32`, 'dev', 'node0']);
    await inNs(['link', 'set', 'node0-end', 'up']);
    await inNs(['link', 'set', 'node0', 'up']);
    await inNs(['route', 'add', 'default', 'dev', 'node0']);
    // Per-namespace switches: route between the pods' bridge and the node; let bridged traffic
    // pass iptables, so a pod reaching a Service whose endpoint is on the same bridge is NATed
    // both ways.
    const [nsenter, nsArgs] = inNode(requireCommand('kube-node', 'sysctl', 'procps'), [
      '-w',
      'net.ipv4.ip_forward=1',
      'net.bridge.bridge-nf-call-iptables=1',
    ]);
    await runCommand('sysctl', nsenter, nsArgs);
    // The kubelet checks that its cgroup root exists in every hierarchy.
    for (const hierarchy of cgroupHierarchies()) {
      await mkdir(join(hierarchy, CGROUP_ROOT), { recursive: true });
    }

    // The API server, at NODE_IP:<its port> inside the namespace: two socat processes, one per
    // side, joined by a Unix socket (file system paths cross network namespaces).
    const apiSocket = join(RUN_DIR, 'apiserver.sock');
    const port = String(ctx.apiPort);
    await ctx.start(
      'relay-apiserver-host',
      socat,
      [`UNIX-LISTEN:${apiSocket},fork,unlink-early`, `TCP:127.0.0.1:${port}`],
      () => Promise.resolve(existsSync(apiSocket)),
    );
    await ctx.start(
      'relay-apiserver-node',
      ...inNode(socat, [
        `TCP-LISTEN:${port},bind=${NODE_IP},fork,reuseaddr`,
        `UNIX-CONNECT:${apiSocket}`,
      ]),
      () => Promise.resolve(true),
      socat,
    );

    // containerd: its own root (the image store, kept), state and sockets under RUN_DIR, the
    // Debian CNI plugins, runc with cgroupfs (a cgroup v1 host has no systemd driver here).
    const cniDir = join(RUN_DIR, 'cni');
    await mkdir(cniDir, { recursive: true });
    await writeFile(
      join(cniDir, '10-emporium.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'emporium',
        plugins: [
          {
            type: 'bridge',
            bridge: 'cni0',
            isGateway: true,
            hairpinMode: true,
            ipam: {
              type: 'host-local',
              ranges: [[{ subnet: POD_SUBNET }]],
              routes: [{ dst: '0.0.0.0/0' }],
              dataDir: join(RUN_DIR, 'ipam'),
            },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      }),
    );
    await writeFile(
      cfg('containerd.toml'),
      [
        'version = 3',
        `root = '${containerdRoot()}'`,
        `state = '${join(RUN_DIR, 'containerd')}'`,
        '[grpc]',
        `  address = '${containerdSocket}'`,
        '[ttrpc]',
        `  address = '${containerdSocket}.ttrpc'`,
        '[plugins]',
        "  [plugins.'io.containerd.cri.v1.images']",
        "    snapshotter = 'overlayfs'",
        "  [plugins.'io.containerd.cri.v1.images'.pinned_images]",
        `    sandbox = '${SANDBOX_IMAGE}'`,
        "  [plugins.'io.containerd.cri.v1.runtime']",
        '    netns_mounts_under_state_dir = true',
        // Kubernetes gives pod sandboxes oom_score_adj -998; lowering a score needs
        // CAP_SYS_RESOURCE, which root lacks on these machines (runc then fails with "can't get
        // final child's PID from pipe"). This keeps every score at or above containerd's own.
        '    restrict_oom_score_adj = true',
        "  [plugins.'io.containerd.cri.v1.runtime'.cni]",
        `    bin_dirs = ['${net.cniPlugins}']`,
        `    conf_dir = '${cniDir}'`,
        "  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]",
        `    Root = '${join(RUN_DIR, 'runc')}'`,
        '    SystemdCgroup = false',
        // The streaming server (exec, attach, port-forward) on the namespace's loopback.
        "  [plugins.'io.containerd.grpc.v1.cri']",
        "    stream_server_address = '127.0.0.1'",
        // Its NRI socket would be /var/run/nri/nri.sock, shared with any other containerd.
        "  [plugins.'io.containerd.nri.v1.nri']",
        '    disable = true',
        '',
      ].join('\n'),
    );
    const ctrArgs = ['--address', containerdSocket, '--namespace', 'k8s.io'];
    const ctr = async (args: readonly string[]): Promise<string> =>
      (await runCommand('ctr', containerd.ctr, [...ctrArgs, ...args])).stdout;
    await ctx.start(
      'containerd',
      ...inNode(containerd.bin, ['--config', cfg('containerd.toml')]),
      async () => existsSync(containerdSocket) && (await ctr(['version'])).includes('Server'),
      containerd.bin,
    );

    const loadImages = (images: readonly string[]): Promise<string[]> =>
      loadImagesIntoNode(images, { buildah: buildah.bin, ctr: containerd.ctr });
    await loadImages([SANDBOX_IMAGE]);

    // The kubelet: cgroupfs on cgroup v1 (failCgroupV1: false, since 1.35 it refuses v1
    // otherwise), its pods under CGROUP_ROOT, image garbage collection off (nothing could be
    // pulled back), eviction only when the disk is really full.
    await writeFile(cfg('kubelet.kubeconfig'), nodeKubeconfig(ctx, 'kubelet'), { mode: 0o600 });
    await writeFile(cfg('ca.crt'), ctx.caCert);
    await writeFile(cfg('resolv.conf'), `nameserver ${CLUSTER_DNS_IP}\n`);
    await writeFile(
      cfg('kubelet.yaml'),
      JSON.stringify({
        apiVersion: 'kubelet.config.k8s.io/v1beta1',
        kind: 'KubeletConfiguration',
        failCgroupV1: false,
        cgroupDriver: 'cgroupfs',
        cgroupRoot: CGROUP_ROOT,
        containerRuntimeEndpoint: `unix://${containerdSocket}`,
        address: NODE_IP,
        readOnlyPort: 0,
        healthzBindAddress: '127.0.0.1',
        authentication: {
          anonymous: { enabled: false },
          webhook: { enabled: true },
          x509: { clientCAFile: cfg('ca.crt') },
        },
        authorization: { mode: 'Webhook' },
        clusterDNS: [CLUSTER_DNS_IP],
        clusterDomain: 'cluster.local',
        // Pods with dnsPolicy Default get the cluster's nameserver too: the host has none to give.
        resolvConf: cfg('resolv.conf'),
        failSwapOn: false,
        imageGCHighThresholdPercent: 100,
        imageGCLowThresholdPercent: 99,
        evictionHard: {
          'memory.available': '100Mi',
          'nodefs.available': '1%',
          'imagefs.available': '1%',
        },
        podLogsDir: nodePodLogsDir(),
        serializeImagePulls: false,
        rotateCertificates: false,
      }),
    );
    await ctx.start(
      'kubelet',
      ...inNode(node.bin, [
        `--config=${cfg('kubelet.yaml')}`,
        `--kubeconfig=${cfg('kubelet.kubeconfig')}`,
        `--root-dir=${kubeletDir()}`,
        `--cert-dir=${join(kubeletDir(), 'pki')}`,
        `--hostname-override=${REAL_NODE_NAME}`,
        `--node-ip=${NODE_IP}`,
      ]),
      async () =>
        (
          await ctx
            .kubectl(['get', 'node', REAL_NODE_NAME, '-o', 'name'])
            .catch(() => ({ stdout: '' }))
        ).stdout.trim() !== '',
      node.bin,
    );

    // kube-proxy: iptables in the node's namespace; masquerade everything it NATs, so a reply
    // always comes back through the node; leave the conntrack sysctls (read-only in a
    // namespace that is not the host's) as they are.
    await writeFile(cfg('kube-proxy.kubeconfig'), nodeKubeconfig(ctx, 'kube-proxy'), {
      mode: 0o600,
    });
    await writeFile(
      cfg('kube-proxy.yaml'),
      JSON.stringify({
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        clientConnection: { kubeconfig: cfg('kube-proxy.kubeconfig') },
        mode: 'iptables',
        clusterCIDR: '10.244.0.0/16',
        hostnameOverride: REAL_NODE_NAME,
        bindAddress: NODE_IP,
        healthzBindAddress: '127.0.0.1:10256',
        metricsBindAddress: '127.0.0.1:10249',
        iptables: { masqueradeAll: true },
        conntrack: {
          maxPerCore: 0,
          min: 0,
          tcpEstablishedTimeout: '0s',
          tcpCloseWaitTimeout: '0s',
        },
      }),
    );
    await ctx.start(
      'kube-proxy',
      ...inNode(node.kubeProxy, [`--config=${cfg('kube-proxy.yaml')}`]),
      () => Promise.resolve(true),
      node.kubeProxy,
    );

    // CoreDNS as a node process at NODE_IP:53, behind the kube-dns Service by a hand-made
    // EndpointSlice: pods query 10.96.0.10, kube-proxy sends it here. It answers cluster.local
    // only: there is nothing upstream to forward to.
    await writeFile(cfg('coredns.kubeconfig'), nodeKubeconfig(ctx, 'coredns'), { mode: 0o600 });
    await writeFile(
      cfg('Corefile'),
      [
        '.:53 {',
        `  bind ${NODE_IP}`,
        '  errors',
        `  kubernetes cluster.local in-addr.arpa ip6.arpa {`,
        `    kubeconfig ${cfg('coredns.kubeconfig')} emporium`,
        '    pods insecure',
        '    fallthrough in-addr.arpa ip6.arpa',
        '  }',
        '  cache 5',
        '}',
        '',
      ].join('\n'),
    );
    await ctx.kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(dnsObjects()) });
    // Storage, as kind's local-path provisioner gives: folders on the node behind
    // PersistentVolumes of no class, which the StatefulSets' claims (no class, and no default
    // StorageClass here) bind to. Open to every uid: a hostPath volume ignores fsGroup.
    const volumes: object[] = [];
    for (let i = 0; i < VOLUMES; i += 1) {
      const path = join(volumesDir(), `pv-${String(i)}`);
      await mkdir(path, { recursive: true, mode: 0o777 });
      await chmod(path, 0o777);
      volumes.push({
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: `emporium-node-pv-${String(i)}`, labels: HARNESS_LABELS },
        spec: {
          capacity: { storage: '10Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: '',
          hostPath: { path, type: 'Directory' },
        },
      });
    }
    await ctx.kubectl(['apply', '-f', '-'], {
      stdin: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: volumes }),
    });
    await ctx.start(
      'coredns',
      ...inNode(coredns.bin, ['-conf', cfg('Corefile')]),
      () => Promise.resolve(true),
      coredns.bin,
    );

    let relays = 0;
    const expose = async (host: string, targetPort: number): Promise<string> => {
      relays += 1;
      const socket = join(RUN_DIR, `expose-${String(relays)}.sock`);
      const local = await freePort();
      await ctx.start(
        `relay-${host}-${String(targetPort)}-node`,
        ...inNode(socat, [
          `UNIX-LISTEN:${socket},fork,unlink-early`,
          `TCP:${host}:${String(targetPort)}`,
        ]),
        () => Promise.resolve(existsSync(socket)),
        socat,
      );
      await ctx.start(
        `relay-${host}-${String(targetPort)}-host`,
        socat,
        [`TCP-LISTEN:${String(local)},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${socket}`],
        () => Promise.resolve(true),
      );
      return `http://127.0.0.1:${String(local)}`;
    };

    return { name: REAL_NODE_NAME, loadImages, expose, ctr, stop: stopNode };
  } catch (err) {
    await stopNode().catch(() => undefined);
    throw err;
  }
}

/** The kube-dns Service, its EndpointSlice to the node's CoreDNS, and what CoreDNS may read. */
function dnsObjects(): object {
  const labels = { 'k8s-app': 'kube-dns', ...HARNESS_LABELS };
  const ports = [
    { name: 'dns', port: 53, protocol: 'UDP' },
    { name: 'dns-tcp', port: 53, protocol: 'TCP' },
  ];
  return {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kube-dns', namespace: 'kube-system', labels },
        // No selector: the endpoint is the node's CoreDNS process, not a pod.
        spec: { clusterIP: CLUSTER_DNS_IP, ports: ports.map((p) => ({ ...p, targetPort: 53 })) },
      },
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: 'kube-dns-node',
          namespace: 'kube-system',
          labels: { ...labels, 'kubernetes.io/service-name': 'kube-dns' },
        },
        addressType: 'IPv4',
        endpoints: [{ addresses: [NODE_IP], conditions: { ready: true } }],
        ports,
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'emporium:coredns', labels },
        rules: [
          {
            apiGroups: [''],
            resources: ['services', 'pods', 'namespaces'],
            verbs: ['list', 'watch'],
          },
          {
            apiGroups: ['discovery.k8s.io'],
            resources: ['endpointslices'],
            verbs: ['list', 'watch'],
          },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'emporium:coredns', labels },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'emporium:coredns',
        },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'system:coredns' }],
      },
    ],
  };
}
