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
  type InfrastructurePart,
  type Stack,
  type StackOptions,
  type StackPart,
} from './stack.js';
