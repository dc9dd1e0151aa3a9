import type { KubeObject } from './chart.js';

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type?: string };
}
interface Container {
  name: string;
  securityContext?: SecurityContext;
  ports?: { hostPort?: number }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  securityContext?: SecurityContext;
  containers: Container[];
  initContainers?: Container[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  volumes?: ({ name: string } & Record<string, unknown>)[];
  automountServiceAccountToken?: boolean;
}

/** Volume types Pod Security "restricted" allows. */
const RESTRICTED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** The pod template of a workload, or undefined for other kinds. */
export function podSpec(object: KubeObject): PodSpec | undefined {
  if (!['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(object.kind)) return undefined;
  const spec = object.spec as { template?: { spec?: PodSpec } } | undefined;
  return spec?.template?.spec;
}

/**
 * Where a pod template breaks Pod Security "restricted" (v1.37), or the chart's own rules on
 * top of it: read-only root with /tmp on an emptyDir, explicit non-zero user and group.
 */
export function podSecurityProblems(object: KubeObject): string[] {
  const pod = podSpec(object);
  if (!pod) return [];
  const where = `${object.kind}/${object.metadata.name}`;
  const problems: string[] = [];
  const podContext = pod.securityContext ?? {};
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push(`${where}: host namespaces`);
  for (const volume of pod.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== 'name');
    if (!type || !RESTRICTED_VOLUMES.has(type))
      problems.push(`${where}: volume ${volume.name} of type ${String(type)}`);
  }
  const tmp = pod.volumes?.find((v) => v.name === 'tmp');
  for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
    const at = `${where} container ${container.name}`;
    const ctx = container.securityContext ?? {};
    const effective = { ...podContext, ...ctx };
    if (effective.runAsNonRoot !== true) problems.push(`${at}: runAsNonRoot is not true`);
    if (!effective.runAsUser) problems.push(`${at}: runAsUser is unset or 0`);
    if (!effective.runAsGroup) problems.push(`${at}: runAsGroup is unset or 0`);
    if (ctx.allowPrivilegeEscalation !== false)
      problems.push(`${at}: allowPrivilegeEscalation is not false`);
    if (ctx.privileged) problems.push(`${at}: privileged`);
    if (!ctx.capabilities?.drop?.includes('ALL'))
      problems.push(`${at}: capabilities do not drop ALL`);
    const added = (ctx.capabilities?.add ?? []).filter((c) => c !== 'NET_BIND_SERVICE');
    if (added.length > 0) problems.push(`${at}: adds capabilities ${added.join(', ')}`);
    const seccomp = effective.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      problems.push(`${at}: seccompProfile is not RuntimeDefault`);
    if (ctx.readOnlyRootFilesystem !== true)
      problems.push(`${at}: readOnlyRootFilesystem is not true`);
    if ((container.ports ?? []).some((p) => p.hostPort)) problems.push(`${at}: hostPort`);
  }
  const app = pod.containers[0];
  if (app && !app.volumeMounts?.some((m) => m.mountPath === '/tmp' && m.name === 'tmp'))
    problems.push(`${where}: the app has no /tmp mount`);
  if (app && !(tmp && 'emptyDir' in tmp)) problems.push(`${where}: /tmp is not an emptyDir`);
  return problems;
}
