import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import type { Lifecycle } from '../lifecycle/lifecycle.js';

/** How {@link listen} binds and how long it waits for slow clients. */
export interface ListenOptions {
  /** The address to bind; all IPv4 interfaces by default. */
  host?: string;
  /** SO_REUSEPORT (Linux): another process may listen on the same port at the same time. */
  reusePort?: boolean;
  /** A request's headers must all arrive within this many ms of its first byte (slowloris). */
  headersTimeoutMs?: number;
  /** A whole request, body included, must arrive within this many ms. */
  requestTimeoutMs?: number;
}

/**
 * Starts the HTTP server on `port` (0 picks a free one) and hands it to the lifecycle, so
 * SIGTERM drains it. Resolves with the server and the port it listens on. A client that sends
 * its headers or body too slowly is answered 408 and cut off (Node's own timers).
 */
export async function listen(
  app: Express,
  port: number,
  lifecycle: Lifecycle,
  options: ListenOptions = {},
): Promise<{ server: Server; port: number }> {
  const { host = '0.0.0.0', reusePort = false } = options;
  // Node checks the two timeouts below every connectionsCheckingInterval (30 s by default,
  // which would let a slow client hold a socket that much longer than the timeout says).
  const server = createServer({ connectionsCheckingInterval: 1000 }, app);
  // Above typical load-balancer idle timeouts (ALB: 60 s), so the LB closes idle sockets first
  // and never sends a request on a socket Node is closing. An idle keep-alive socket is not a
  // slow request: Node starts the headers timer at a request's first byte.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = options.headersTimeoutMs ?? 10_000;
  // Node refuses a request timeout shorter than the headers timeout.
  server.requestTimeout = Math.max(options.requestTimeoutMs ?? 30_000, server.headersTimeout);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, reusePort }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  lifecycle.trackServer(server);
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : port };
}
