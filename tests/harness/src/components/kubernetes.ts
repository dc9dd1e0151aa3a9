import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../tools/catalogue.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startProcess, tempDir, type ManagedProcess } from '../process.js';
import { ensureTool } from '../tools/provision.js';
import {
  cleanRealNode,
  NODE_IP,
  REAL_NODE_NAME,
  startRealNode,
  type RealNode,
} from './kube-node.js';
import { runCommand, runLogged, ToolError, which, type CommandOutput } from '../tools/run.js';

/** What a kubectl command printed. */
export type KubectlResult = CommandOutput;

/** Options of one {@link KubernetesCluster.kubectl} call. */
export interface KubectlOptions {
  /** Written to kubectl's stdin, e.g. a manifest for `apply -f -`. */
  stdin?: string;
}

/** A running control plane: kine, kube-apiserver, controller-manager, scheduler and kwok. */
export interface KubernetesCluster {
  /** Path of an admin (system:masters) kubeconfig with its certificates inlined. */
  readonly kubeconfig: string;
  /** The API server, e.g. `https://127.0.0.1:40123`. */
  readonly server: string;
  /** What the API server reports as its gitVersion, e.g. `v1.37.2`. */
  readonly version: string;
  /** The fake (kwok) nodes, all Ready. */
  readonly nodes: string[];
  /** The processes, in start order. */
  readonly processes: readonly ManagedProcess[];
  /** The real node, when the cluster was started with `realNode`. */
  readonly realNode?: RealNode;
  /** Runs the pinned kubectl against this cluster; rejects with its stderr when it fails. */
  kubectl(args: readonly string[], options?: KubectlOptions): Promise<KubectlResult>;
  /** Stops every process (SIGTERM, then SIGKILL) and removes the cluster's folder. */
  stop(): Promise<void>;
}

/** Options for {@link startKubernetes}. */
export interface KubernetesOptions {
  /** How many fake nodes to create, each in its own zone (`zone-a`, `zone-b` …); 2 by default. */
  nodes?: number;
  /**
   * Add the real node (kubelet, containerd, kube-proxy, CoreDNS; see kube-node.ts), where pods
   * really run; fake nodes are then 0 unless `nodes` says otherwise. Needs root.
   */
  realNode?: boolean;
  /**
   * Keep everything (certificates, kubeconfig, SQLite, logs, `state.json`) in this folder
   * instead of a temp one; it must not hold a running cluster. Removed by stop().
   */
  stateDir?: string;
  /**
   * Start the processes so that they outlive this one (`npm run kube:up`); end them with
   * {@link stopKubernetesState}. Within this process stop() works as usual.
   */
  detached?: boolean;
}

/** What `state.json` in a cluster's folder records, for {@link stopKubernetesState}. */
export interface KubernetesState {
  kubeconfig: string;
  server: string;
  version: string;
  nodes: string[];
  kubectl: string;
  processes: { name: string; pid: number; command: string }[];
  /** Whether a real node runs, whose containers, mounts and namespace kube:down must remove. */
  realNode?: boolean;
}

/** Pods and Services get addresses from these; neither overlaps the other nor 127.0.0.0/8. */
const SERVICE_CIDR = '10.96.0.0/16';
const SERVICE_API_IP = '10.96.0.1';
const POD_CIDR = '10.244.0.0/16';
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** A cold API server with SQLite behind it installs its bootstrap objects in a few seconds. */
const READY_TIMEOUT_MS = 90_000;

/** The PEM pair of one identity signed by the cluster CA. */
interface Pem {
  cert: string;
  key: string;
}

/**
 * Kubernetes wants X.509: a CA, the API server's serving certificate and client certificates
 * whose O is the RBAC group. node:crypto makes keys but cannot issue certificates, so the
 * openssl CLI (on every Debian image, and the reference tool for this) does; it needs no npm
 * dependency and takes about 10 ms a certificate. A config file of our own keeps the result
 * independent of the system's openssl.cnf.
 */
async function issueCertificates(
  dir: string,
  realNode: boolean,
): Promise<Record<string, Pem> & { ca: Pem }> {
  const openssl = which('openssl');
  if (!openssl) {
    throw new ToolError('kubernetes', 'needs `openssl` on PATH for the cluster certificates');
  }
  const logFile = join(dir, 'openssl.log');
  const run = (args: string[]): Promise<void> =>
    runLogged(openssl, args, { tool: 'kubernetes', logFile, cwd: dir });
  const config = join(dir, 'openssl.cnf');
  await writeFile(
    config,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      '[ca]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign,digitalSignature',
      'subjectKeyIdentifier = hash',
      '[server]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage = serverAuth',
      'authorityKeyIdentifier = keyid',
      // In-cluster names too, so a client following the `kubernetes` Service would verify it.
      // With a real node, also its address, where the relay offers the API server to the node.
      `subjectAltName = IP:127.0.0.1,IP:${SERVICE_API_IP},${realNode ? `IP:${NODE_IP},` : ''}DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local`,
      '[client]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage = clientAuth',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run([
    'req',
    '-x509',
    '-new',
    '-config',
    config,
    '-extensions',
    'ca',
    ...ecKey,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '3650',
    '-subj',
    '/CN=emporium-kubernetes-ca',
  ]);
  const issue = async (name: string, subject: string, profile: string): Promise<void> => {
    await run([
      'req',
      '-new',
      '-config',
      config,
      ...ecKey,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    ]);
    await run([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      `0x${randomBytes(16).toString('hex')}`,
      '-days',
      '365',
      '-extfile',
      config,
      '-extensions',
      profile,
      '-out',
      `${name}.crt`,
    ]);
  };
  const identities = {
    apiserver: ['/CN=kube-apiserver', 'server'],
    admin: ['/O=system:masters/CN=emporium-admin', 'client'],
    // The users the bootstrap RBAC policy grants exactly what these components need.
    'controller-manager': ['/CN=system:kube-controller-manager', 'client'],
    scheduler: ['/CN=system:kube-scheduler', 'client'],
    // The real node's components: the Node authorizer knows its kubelet by this name and group.
    ...(realNode
      ? {
          kubelet: [`/O=system:nodes/CN=system:node:${REAL_NODE_NAME}`, 'client'],
          'kube-proxy': ['/CN=system:kube-proxy', 'client'],
          coredns: ['/CN=system:coredns', 'client'],
        }
      : {}),
  } as const;
  await Promise.all(
    Object.entries(identities).map(([name, [subject, profile]]) => issue(name, subject, profile)),
  );
  const pems: Record<string, Pem> = {};
  for (const name of ['ca', ...Object.keys(identities)]) {
    pems[name] = {
      cert: await readFile(join(dir, `${name}.crt`), 'utf8'),
      key: await readFile(join(dir, `${name}.key`), 'utf8'),
    };
  }
  const ca = pems.ca;
  if (!ca) throw new ToolError('kubernetes', 'openssl wrote no CA');
  return { ...pems, ca };
}

/** A kubeconfig with everything inlined (JSON is YAML), so it can be copied anywhere. */
function kubeconfigFor(server: string, ca: string, user: string, pem: Pem): string {
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'emporium', cluster: { server, 'certificate-authority-data': b64(ca) } }],
      users: [
        {
          name: user,
          user: { 'client-certificate-data': b64(pem.cert), 'client-key-data': b64(pem.key) },
        },
      ],
      contexts: [{ name: 'emporium', context: { cluster: 'emporium', user } }],
      'current-context': 'emporium',
    },
    null,
    2,
  );
}

/** TLS material for a request: the cluster CA (and a client certificate), or none to verify. */
type Tls = { ca: string; cert?: string; key?: string } | 'self-signed';

/** One HTTPS GET; resolves with the status and body (a loopback probe, so 2 s is plenty). */
function httpsGet(url: string, tls: Tls): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const options = tls === 'self-signed' ? { rejectUnauthorized: false } : tls;
    const req = request(url, { ...options, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/** A fake node kwok manages: Ready, schedulable, with room for any test's pods. */
function fakeNode(name: string, zone: string): object {
  const resources = { cpu: '32', memory: '256Gi', pods: '110', 'ephemeral-storage': '1Ti' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        type: 'kwok',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'topology.kubernetes.io/region': 'local',
        'topology.kubernetes.io/zone': zone,
      },
    },
    spec: {},
    // kwok's node-initialize stage keeps these and fills in conditions and addresses.
    status: { allocatable: resources, capacity: resources },
  };
}

interface NodeList {
  items: {
    metadata: { name: string };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

/** Polls `probe` until it returns true, or throws naming `what` and quoting `logs`. */
async function until(
  what: string,
  probe: () => Promise<boolean>,
  logs: readonly ManagedProcess[],
  timeoutMs = READY_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) {
      const tails = logs.map((p) => {
        const lines = existsSync(p.logFile) ? readFileSync(p.logFile, 'utf8').trimEnd() : '';
        return `  ${p.name}:\n    ${lines.split('\n').slice(-8).join('\n    ')}`;
      });
      throw new ToolError(
        'kubernetes',
        `${what} did not happen within ${String(timeoutMs)} ms\n${tails.join('\n')}`,
      );
    }
    await sleep(250);
  }
}

/**
 * Starts a real Kubernetes control plane as local processes on free 127.0.0.1 ports: kine
 * (etcd's API over SQLite), kube-apiserver (RBAC, default admission plugins, PodSecurity
 * included), kube-controller-manager, kube-scheduler and kwok, which plays the kubelets of
 * fake nodes so that pods become Running and Ready with IPs (no containers run). Resolves once
 * the API server is ready, every node is Ready and the `default` ServiceAccount exists.
 */
export async function startKubernetes(options: KubernetesOptions = {}): Promise<KubernetesCluster> {
  const [kube, kine, kwok] = await Promise.all([
    ensureTool('kubernetes'),
    ensureTool('kine'),
    ensureTool('kwok'),
  ]);
  let dir: string;
  if (options.stateDir) {
    dir = options.stateDir;
    await mkdir(dir, { recursive: true });
    if ((await readdir(dir)).length > 0) {
      throw new ToolError('kubernetes', `${dir} is not empty; is a cluster already up there?`);
    }
  } else {
    dir = await tempDir('kubernetes');
  }
  const processes: ManagedProcess[] = [];
  const state: KubernetesState = {
    kubeconfig: join(dir, 'kubeconfig'),
    server: '',
    version: '',
    nodes: [],
    kubectl: kube.kubectl,
    processes: [],
  };
  // Rewritten after every start, so that kube:down finds whatever is running even when kube:up
  // was interrupted half-way.
  const record = (): Promise<void> =>
    writeFile(join(dir, 'state.json'), JSON.stringify(state, null, 2) + '\n');
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      // Reverse order: clients first, the store last, so nothing logs a lost connection.
      for (const proc of [...processes].reverse()) await proc.stop();
      // The node's containers, mounts and namespace outlive its daemons.
      if (state.realNode) await cleanRealNode();
      if (!process.env.EMPORIUM_KEEP_LOGS) await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  const detached = options.detached ?? false;
  // Each process gets a folder of its own: startProcess removes a process's folder on stop.
  const start = async (
    name: string,
    command: string,
    args: string[],
    ready: () => Promise<boolean>,
    runs: string = command,
  ): Promise<ManagedProcess> => {
    const workDir = join(dir, name);
    await mkdir(workDir, { recursive: true });
    const proc = await startProcess({
      name,
      command,
      args,
      workDir,
      ready,
      readyTimeoutMs: READY_TIMEOUT_MS,
      stopGraceMs: 10_000,
      detached,
      env: { ...process.env, HOME: workDir },
    });
    processes.push(proc);
    state.processes.push({ name, pid: proc.pid, command: runs });
    await record();
    return proc;
  };

  try {
    const pki = join(dir, 'pki');
    await mkdir(pki, { recursive: true });
    const realNode = options.realNode ?? false;
    state.realNode = realNode;
    const pems = await issueCertificates(pki, realNode);
    // The ServiceAccount token signing key: node:crypto makes it, PKCS#8 PEM as Kubernetes reads.
    const saKeys = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    await writeFile(join(pki, 'sa.key'), saKeys.privateKey, { mode: 0o600 });
    await writeFile(join(pki, 'sa.pub'), saKeys.publicKey);
    const file = (name: string): string => join(pki, name);

    const [kinePort, apiPort, cmPort, schedulerPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const server = `https://127.0.0.1:${String(apiPort)}`;
    const kubeconfigs: Record<string, string> = {};
    for (const user of ['admin', 'controller-manager', 'scheduler']) {
      const pem = pems[user];
      if (!pem) throw new ToolError('kubernetes', `no certificate for ${user}`);
      kubeconfigs[user] = join(dir, user === 'admin' ? 'kubeconfig' : `${user}.kubeconfig`);
      await writeFile(kubeconfigs[user], kubeconfigFor(server, pems.ca.cert, user, pem), {
        mode: 0o600,
      });
    }
    const kubeconfig = state.kubeconfig;
    const admin = pems.admin;
    if (!admin) throw new ToolError('kubernetes', 'no admin certificate');
    const adminTls = { ca: pems.ca.cert, cert: admin.cert, key: admin.key };

    await start(
      'kine',
      kine.bin,
      [
        `--listen-address=127.0.0.1:${String(kinePort)}`,
        // WAL and a long busy timeout: the API server writes from many goroutines at once.
        `--endpoint=sqlite://${join(dir, 'kine', 'state.db')}?_journal=WAL&cache=shared&_busy_timeout=30000`,
        // Its metrics would bind :8080 on every interface by default.
        '--metrics-bind-address=0',
      ],
      () => accepts(kinePort),
    );

    await start(
      'kube-apiserver',
      kube.bin,
      [
        `--etcd-servers=http://127.0.0.1:${String(kinePort)}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${String(apiPort)}`,
        ...(realNode
          ? [
              // Pods reach the API server through the `kubernetes` Service, whose endpoint is the
              // relay at the node's address (kube-node.ts).
              `--advertise-address=${NODE_IP}`,
              // Logs and exec would dial the kubelet at NODE_IP, which exists only inside the
              // node's namespace; no address of this type exists, so nothing leaves the host.
              '--kubelet-preferred-address-types=InternalDNS',
            ]
          : [
              '--advertise-address=127.0.0.1',
              // The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints validation
              // refuses (loopback); nothing in a kwok cluster dials it, so do not reconcile them.
              '--endpoint-reconciler-type=none',
            ]),
        `--tls-cert-file=${file('apiserver.crt')}`,
        `--tls-private-key-file=${file('apiserver.key')}`,
        `--client-ca-file=${file('ca.crt')}`,
        // The controller-manager and scheduler read this from kube-system and log an error every
        // few seconds while it is missing; no certificate with this CN is ever issued.
        `--requestheader-client-ca-file=${file('ca.crt')}`,
        '--requestheader-allowed-names=front-proxy-client',
        '--requestheader-username-headers=X-Remote-User',
        '--requestheader-group-headers=X-Remote-Group',
        '--requestheader-extra-headers-prefix=X-Remote-Extra-',
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--authorization-mode=Node,RBAC',
        `--service-account-issuer=${ISSUER}`,
        `--service-account-key-file=${file('sa.pub')}`,
        `--service-account-signing-key-file=${file('sa.key')}`,
        `--cert-dir=${join(dir, 'kube-apiserver')}`,
        '--profiling=false',
      ],
      async () => (await httpsGet(`${server}/readyz`, { ca: pems.ca.cert })).status === 200,
    );

    // Flags both components share; `user` names their kubeconfig, `name` their folder.
    const componentFlags = (user: string, name: string, port: number): string[] => [
      // Delegated authentication and authorization of their own /metrics; /healthz stays open.
      `--authentication-kubeconfig=${kubeconfigs[user] ?? ''}`,
      `--authorization-kubeconfig=${kubeconfigs[user] ?? ''}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${String(port)}`,
      // Their self-signed serving certificates go here rather than into /var/run/kubernetes.
      `--cert-dir=${join(dir, name)}`,
    ];
    const healthy = (port: number) => async () =>
      (await httpsGet(`https://127.0.0.1:${String(port)}/healthz`, 'self-signed')).status === 200;
    const schedulerConfig = join(dir, 'scheduler.yaml');
    await writeFile(
      schedulerConfig,
      JSON.stringify({
        apiVersion: 'kubescheduler.config.k8s.io/v1',
        kind: 'KubeSchedulerConfiguration',
        clientConnection: { kubeconfig: kubeconfigs.scheduler },
        // One instance: electing a leader would only delay the start by a lease period.
        leaderElection: { leaderElect: false },
        enableProfiling: false,
      }),
    );
    const stagesDocs = await Promise.all(
      (await readdir(kwok.stages))
        .filter((f) => f.endsWith('.yaml'))
        .sort()
        .map((f) => readFile(join(kwok.stages, f), 'utf8')),
    );
    const kwokConfig = join(dir, 'kwok.yaml');
    await writeFile(kwokConfig, stagesDocs.map((doc) => doc.trimEnd()).join('\n---\n') + '\n');

    await Promise.all([
      start(
        'kube-controller-manager',
        kube.controllerManager,
        [
          ...componentFlags('controller-manager', 'kube-controller-manager', cmPort),
          `--kubeconfig=${kubeconfigs['controller-manager'] ?? ''}`,
          '--profiling=false',
          // One identity per controller, as in a real cluster, so RBAC is exercised per controller.
          '--use-service-account-credentials=true',
          `--service-account-private-key-file=${file('sa.key')}`,
          `--root-ca-file=${file('ca.crt')}`,
          `--cluster-signing-cert-file=${file('ca.crt')}`,
          `--cluster-signing-key-file=${file('ca.key')}`,
          `--service-cluster-ip-range=${SERVICE_CIDR}`,
          '--leader-elect=false',
        ],
        healthy(cmPort),
      ),
      start(
        'kube-scheduler',
        kube.scheduler,
        [
          ...componentFlags('scheduler', 'kube-scheduler', schedulerPort),
          // Its kubeconfig and leader election are in the file: those flags are deprecated.
          `--config=${schedulerConfig}`,
        ],
        healthy(schedulerPort),
      ),
      start(
        'kwok',
        kwok.bin,
        [
          `--config=${kwokConfig}`,
          `--kubeconfig=${kubeconfig}`,
          '--manage-all-nodes=false',
          '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
          `--cidr=${POD_CIDR}`,
          `--node-ip=${NODE_IP}`,
          // Leases keep the nodes healthy in the node-lifecycle controller's eyes.
          '--node-lease-duration-seconds=40',
        ],
        // kwok serves nothing to probe; the nodes turning Ready below prove it works.
        () => Promise.resolve(true),
      ),
    ]);

    const kubectl = (
      args: readonly string[],
      kubectlOptions: KubectlOptions = {},
    ): Promise<KubectlResult> =>
      runCommand(
        'kubectl',
        kube.kubectl,
        [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(dir, 'kubectl-cache')}`, ...args],
        { stdin: kubectlOptions.stdin },
      );

    const count = options.nodes ?? (realNode ? 0 : 2);
    const nodes = Array.from({ length: count }, (_, i) => `kwok-node-${String(i)}`);
    const zones = nodes.map((_, i) => `zone-${String.fromCharCode(97 + (i % 26))}`);
    // No nodes is a valid cluster (Leases, RBAC, admission); kubectl refuses an empty apply.
    if (count > 0) {
      await kubectl(['apply', '-f', '-'], {
        stdin: JSON.stringify({
          apiVersion: 'v1',
          kind: 'List',
          items: nodes.map((name, i) => fakeNode(name, zones[i] ?? 'zone-a')),
        }),
      });
    }
    let node: RealNode | undefined;
    if (realNode) {
      node = await startRealNode({
        apiPort,
        caCert: pems.ca.cert,
        kubeconfig: (client, nodeServer) => {
          const pem = pems[client];
          if (!pem) throw new ToolError('kubernetes', `no certificate for ${client}`);
          return kubeconfigFor(nodeServer, pems.ca.cert, client, pem);
        },
        start,
        kubectl,
      });
      nodes.push(node.name);
    }
    await until(
      'every node Ready',
      async () => {
        const { body } = await httpsGet(`${server}/api/v1/nodes`, adminTls);
        const list = JSON.parse(body) as NodeList;
        return nodes.every((name) =>
          list.items.some(
            (n) =>
              n.metadata.name === name &&
              n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          ),
        );
      },
      processes,
    );
    await until(
      'the default ServiceAccount',
      async () =>
        (await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, adminTls))
          .status === 200,
      processes,
    );
    const { body } = await httpsGet(`${server}/version`, adminTls);
    const version = (JSON.parse(body) as { gitVersion?: string }).gitVersion ?? 'unknown';

    Object.assign(state, { server, version, nodes });
    await record();
    return { kubeconfig, server, version, nodes, processes, kubectl, stop, realNode: node };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The state.json of a cluster started with `stateDir`, or undefined when there is none. */
export async function readKubernetesState(stateDir: string): Promise<KubernetesState | undefined> {
  const text = await readFile(join(stateDir, 'state.json'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as KubernetesState);
}

/** Whether `pid` is alive and still runs `command` (a recorded pid may have been reused). */
function runs(pid: number, command: string): boolean {
  try {
    const argv0 = readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8').split('\0')[0];
    return argv0 === command;
  } catch {
    return false;
  }
}

/**
 * Ends the processes that a detached cluster recorded in `stateDir` (SIGTERM, SIGKILL after
 * 10 s), only those still running the recorded binary, and removes the folder. Resolves with
 * the names of the processes it ended.
 */
export async function stopKubernetesState(stateDir: string): Promise<string[]> {
  const state = await readKubernetesState(stateDir);
  const ended: string[] = [];
  for (const { name, pid, command } of [...(state?.processes ?? [])].reverse()) {
    if (!runs(pid, command)) continue;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (runs(pid, command) && Date.now() < deadline) await sleep(100);
    if (runs(pid, command)) process.kill(pid, 'SIGKILL');
    while (runs(pid, command)) await sleep(50);
    ended.push(name);
  }
  if (state?.realNode) ended.push(...(await cleanRealNode()));
  await rm(stateDir, { recursive: true, force: true });
  return ended;
}

/** The upstream CRDs (Prometheus Operator, Gateway API, VPC Lattice, App Mesh) beside the repo. */
export const SHARED_CRDS_DIR = join(repoRoot(), '..', 'shared', 'crds');

/**
 * Applies every CRD file in `dir` server-side (the Gateway API CRDs are too big for the
 * client-side last-applied annotation) and waits until each is Established; returns their
 * `customresourcedefinition.apiextensions.k8s.io/<name>` names.
 */
export async function installCrds(
  cluster: Pick<KubernetesCluster, 'kubectl'>,
  dir: string = SHARED_CRDS_DIR,
): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const names: string[] = [];
  for (const file of files) {
    const { stdout } = await cluster.kubectl([
      'apply',
      '--server-side',
      '-o',
      'name',
      '-f',
      join(dir, file),
    ]);
    names.push(...stdout.split('\n').filter((n) => n.startsWith('customresourcedefinition')));
  }
  if (names.length > 0) {
    await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names]);
  }
  return names;
}
