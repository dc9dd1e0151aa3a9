export { buildServices, buildStorefront } from './build.js';
export {
  startServices,
  type Infrastructure,
  type RunningService,
  type RunningServices,
  type StartServicesOptions,
} from './services.js';
export { SERVICES, type ServiceName, type ServiceSpec } from './topology.js';
export {
  STACK_PORTS,
  fixedStackPorts,
  freeStackPorts,
  type ServicePorts,
  type StackPort,
  type StackPorts,
} from './ports.js';
export {
  LOCAL_ROUTE_TIMEOUT_MS,
  behindSidecarEnv,
  localSidecarBootstrap,
  sidecarEgressUrl,
  startSidecars,
  type RunningSidecar,
} from './sidecars.js';
export {
  INFRASTRUCTURE,
  LOCAL_STACK_DATA,
  SERVICES_NEED,
  registerScrapeTarget,
  startStack,
  type ControlName,
  type InfrastructurePart,
  type ProcessControl,
  type Stack,
  type StackOptions,
  type StackPart,
} from './stack.js';
