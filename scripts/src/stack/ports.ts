/**
 * The local stack's port table: every fixed 127.0.0.1 port `npm start` uses, in one place.
 * Ports sit off the tools' defaults (except OTLP and the Jaeger UI, which clients expect) so
 * the stack runs beside a developer's own Kafka, Redis or MongoDB.
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
} as const;

/** A name in the port table. */
export type StackPort = keyof typeof STACK_PORTS;
