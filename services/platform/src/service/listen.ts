import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import type { Lifecycle } from '../lifecycle/lifecycle.js';

/**
 * Starts the HTTP server on `port` (0 picks a free one) and hands it to the lifecycle, so
 * SIGTERM drains it. Resolves with the server and the port it listens on. With `reusePort`
 * (SO_REUSEPORT, Linux), another process may listen on the same port at the same time.
 */
export async function listen(
  app: Express,
  port: number,
  lifecycle: Lifecycle,
  host = '0.0.0.0',
  reusePort = false,
): Promise<{ server: Server; port: number }> {
  const server = createServer(app);
  // Above typical load-balancer idle timeouts (ALB: 60 s), so the LB closes idle sockets first
  // and never sends a request on a socket Node is closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
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
