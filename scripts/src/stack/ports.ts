import { freePort, freePortBlock } from '@emporium/harness';
import type { ServiceName } from './topology.js';
import { SERVICES } from './topology.js';

/**
 * The local stack's port table: every fixed 127.0.0.1 port `npm start` uses, in one place.
 * Ports sit off the tools' defaults (except OTLP and the Jaeger UI, which clients expect) so
 * the stack runs beside a developer's own Kafka, Redis or MongoDB.
 *
 * A service's port here is where the rest of the system reaches it: its Envoy sidecar's ingress
 * (the port a Kubernetes Service would target), or the app itself when sidecars are off.
 */
export const STACK_PORTS = {
  kafka: 19092,
  redis: 16379,
  mongodb: 17017,
  prometheus: 19090,
  jaegerUi: 16686,
  jaegerQueryGrpc: 16685,
  otlpGrpc: 4317,
  otlpHttp: 4318,
  gateway: 18000,
  catalog: 18001,
  cart: 18002,
  inventory: 18003,
  orders: 18004,
  payments: 18005,
  shipping: 18006,
  notifications: 18007,
  loadgen: 18008,
} as const;

/** A name in the port table. */
export type StackPort = keyof typeof STACK_PORTS;

/** Where one service and its sidecar listen. */
export interface ServicePorts {
  /** What callers use: the sidecar's ingress (or the app when sidecars are off). */
  readonly service: number;
  /** The app behind the sidecar. */
  readonly app: number;
  /** The sidecar's admin interface (`/stats/prometheus`). */
  readonly envoyAdmin: number;
  /** The sidecar's first egress port; the i-th upstream is `egress + i`. */
  readonly egress: number;
}

/** Every port of one stack: infrastructure and, per service, the app and its sidecar. */
export interface StackPorts {
  readonly kafka: number;
  readonly redis: number;
  readonly mongodb: number;
  readonly prometheus: number;
  readonly jaegerUi: number;
  readonly jaegerQueryGrpc: number;
  readonly otlpGrpc: number;
  readonly otlpHttp: number;
  readonly services: Readonly<Record<ServiceName, ServicePorts>>;
}

/**
 * The fixed ports of `npm start`: service n (in STACK_PORTS order) has its app on 18100 + n,
 * its sidecar's admin on 18200 + n and its egress listeners from 18300 + 10·n (a service calls
 * at most 10 others).
 */
export function fixedStackPorts(): StackPorts {
  const services = Object.fromEntries(
    SERVICES.map(({ name }) => {
      const service = STACK_PORTS[name];
      const n = service - STACK_PORTS.gateway;
      return [name, { service, app: 18_100 + n, envoyAdmin: 18_200 + n, egress: 18_300 + 10 * n }];
    }),
  ) as Record<ServiceName, ServicePorts>;
  const { kafka, redis, mongodb, prometheus, jaegerUi, jaegerQueryGrpc, otlpGrpc, otlpHttp } =
    STACK_PORTS;
  return {
    kafka,
    redis,
    mongodb,
    prometheus,
    jaegerUi,
    jaegerQueryGrpc,
    otlpGrpc,
    otlpHttp,
    services,
  };
}

/**
 * A stack on free ports, for tests that run beside `npm start` or each other. The kernel may
 * hand out a port twice while nothing listens on it yet, so every pick is checked against
 * the others.
 */
export async function freeStackPorts(): Promise<StackPorts> {
  const taken = new Set<number>();
  const pick = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  const services: Partial<Record<ServiceName, ServicePorts>> = {};
  for (const { name, upstreams } of SERVICES) {
    // Egress blocks come from 20000–32000, below the range freePort() draws from.
    const count = Math.max(1, upstreams.length);
    const block = (base: number): number[] => Array.from({ length: count }, (_, i) => base + i);
    let egress = await freePortBlock(count);
    while (block(egress).some((port) => taken.has(port))) egress = await freePortBlock(count);
    block(egress).forEach((port) => taken.add(port));
    services[name] = { service: await pick(), app: await pick(), envoyAdmin: await pick(), egress };
  }
  return {
    kafka: await pick(),
    redis: await pick(),
    mongodb: await pick(),
    prometheus: await pick(),
    jaegerUi: await pick(),
    jaegerQueryGrpc: await pick(),
    otlpGrpc: await pick(),
    otlpHttp: await pick(),
    services: services as Record<ServiceName, ServicePorts>,
  };
}
