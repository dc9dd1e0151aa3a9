export {
  COMPONENT_CHECKS,
  CheckFailed,
  eventually,
  proxyBootstrap,
  type ComponentCheck,
} from './checks.js';
export {
  startEnvoy,
  validateEnvoyBootstrap,
  type EnvoyBootstrap,
  type EnvoyOptions,
  type EnvoyServer,
} from './components/envoy.js';
export { helm, type HelmResult } from './components/helm.js';
export { startJaeger, type JaegerOptions, type JaegerServer } from './components/jaeger.js';
export { startKafka, type KafkaOptions, type KafkaServer } from './components/kafka.js';
export {
  readKubernetesState,
  installCrds,
  SHARED_CRDS_DIR,
  startKubernetes,
  stopKubernetesState,
  type KubectlOptions,
  type KubectlResult,
  type KubernetesCluster,
  type KubernetesOptions,
  type KubernetesState,
} from './components/kubernetes.js';
export {
  cleanRealNode,
  CLUSTER_DNS_IP,
  NODE_IP,
  nodePodLogsDir,
  REAL_NODE_NAME,
  SANDBOX_IMAGE,
  type RealNode,
} from './components/kube-node.js';
export {
  loadImagesIntoNode,
  realNodeRunning,
  type NodeImageOptions,
} from './components/node-images.js';
export { startMongo, type MongoOptions, type MongoServer } from './components/mongo.js';
export {
  startPrometheus,
  type PrometheusOptions,
  type PrometheusServer,
  type PromAlert,
  type PromSample,
  type ScrapeConfig,
} from './components/prometheus.js';
export {
  startAlertmanager,
  type AlertmanagerOptions,
  type AlertmanagerServer,
} from './components/alertmanager.js';
export { startRedis, type RedisOptions, type RedisServer } from './components/redis.js';
export {
  json,
  problem,
  startHttpStub,
  type HttpStub,
  type RouteParams,
  type StubCall,
  type StubHandler,
  type StubRequest,
  type StubRoutes,
} from './http-stub.js';
export {
  freePort,
  freePortBlock,
  httpOk,
  killAll,
  livePids,
  processRunning,
  logTail,
  portFree,
  startProcess,
  tempDir,
  type ManagedProcess,
  type StartOptions,
} from './process.js';
export {
  cacheRoot,
  repoRoot,
  toolDir,
  toolVersions,
  toolVersionsFile,
  type ToolName,
  type ToolVersions,
} from './tools/catalogue.js';
export {
  ALL_TOOLS,
  CONTROL_PLANE_TOOLS,
  KUBERNETES_TOOLS,
  NODE_TOOLS,
  PROVISIONED_TOOLS,
  ensureTool,
  type ProgressListener,
  type ToolPaths,
} from './tools/provision.js';
export {
  runCommand,
  runLogged,
  ToolError,
  which,
  type CommandOptions,
  type CommandOutput,
  type RunOptions,
} from './tools/run.js';
export { call, type Answer } from './http-client.js';
export { assertValidOpenApi } from './openapi.js';
export { runNodeScript, serviceMain, type ScriptRun, type ServiceCommand } from './node-script.js';
