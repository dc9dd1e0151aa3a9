// The bare alternative of catalog's cached read: node:http and one ioredis GET of the same key,
// nothing else (no framework, validation, metrics, logs or tracing). `npm run bench` starts it
// as its own process beside catalog, on the same Redis.
import { createServer } from 'node:http';
import { Redis } from 'ioredis';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const PRODUCT = /^\/products\/([^/?]+)$/;

const server = createServer((req, res) => {
  const id = PRODUCT.exec(req.url ?? '')?.[1];
  if (req.url === '/readyz') {
    res.writeHead(redis.status === 'ready' ? 200 : 503).end();
    return;
  }
  if (req.method !== 'GET' || id === undefined) {
    res.writeHead(404).end();
    return;
  }
  // The key catalog's cache-aside writes (platform createCache, name "products").
  redis.get(`cache:products:${decodeURIComponent(id)}`).then(
    (json) => {
      if (json === null) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(json);
    },
    () => res.writeHead(503).end(),
  );
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  redis.disconnect();
});
