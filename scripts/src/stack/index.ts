export {
  SERVICES,
  startServices,
  type Infrastructure,
  type RunningService,
  type RunningServices,
  type ServiceName,
  type ServiceSpec,
  type StartServicesOptions,
} from './services.js';
export { STACK_PORTS, type StackPort } from './ports.js';
