import assert from 'node:assert/strict';
import { connect } from 'node:net';
import express, { type ErrorRequestHandler } from 'express';
import { pino } from 'pino';
import { createReadiness } from '../http/readiness.js';
import { createLifecycle } from '../lifecycle/lifecycle.js';
import { listen } from './listen.js';

/** Writes `chunks` to the server one by one, `gapMs` apart, and returns what came back. */
async function trickle(
  port: number,
  chunks: readonly string[],
  gapMs: number,
): Promise<{ answer: string; ms: number }> {
  const socket = connect(port, '127.0.0.1');
  const began = Date.now();
  let answer = '';
  socket.on('data', (data: Buffer) => (answer += data.toString()));
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      resolve();
    }),
  );
  socket.on('error', () => undefined);
  for (const chunk of chunks) {
    if (socket.destroyed) break;
    socket.write(chunk);
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  await closed;
  return { answer, ms: Date.now() - began };
}

describe('listen: slow clients', function () {
  this.timeout(30_000);

  it('cuts off a client that trickles its headers or its body, and serves a prompt one', async () => {
    const app = express();
    app.post('/echo', express.json(), (req, res) => {
      res.json(req.body);
    });
    app.get('/hello', (_req, res) => {
      res.send('hello');
    });
    // The body cut off mid-way reaches express as an aborted request: expected here, not logged.
    const quiet: ErrorRequestHandler = (_error, _req, res, _next) => {
      res.destroy();
    };
    app.use(quiet);
    const lifecycle = createLifecycle({
      logger: pino({ level: 'silent' }),
      readiness: createReadiness(),
      timeoutMs: 5_000,
      drainDelayMs: 0,
      exit: () => undefined,
    });
    const { server, port } = await listen(app, 0, lifecycle, {
      host: '127.0.0.1',
      headersTimeoutMs: 1_000,
      requestTimeoutMs: 2_000,
    });
    try {
      const prompt = await fetch(`http://127.0.0.1:${String(port)}/hello`);
      assert.equal(await prompt.text(), 'hello');

      // Slowloris: one header line every 400 ms, never the blank line that ends them.
      const headers = Array.from({ length: 20 }, (_, i) => `X-Slow-${String(i)}: 1\r\n`);
      const slowHeaders = await trickle(
        port,
        ['GET /hello HTTP/1.1\r\nHost: x\r\n', ...headers],
        400,
      );
      assert.match(slowHeaders.answer, /^HTTP\/1\.1 408/);
      assert.ok(slowHeaders.ms < 5_000, `cut off after ${String(slowHeaders.ms)} ms`);

      // Headers in time, then a body that never finishes.
      const body = '{"a":"' + 'x'.repeat(10) + '"}';
      const slowBody = await trickle(
        port,
        [
          `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${String(body.length + 100)}\r\n\r\n`,
          ...Array.from({ length: 20 }, () => 'x'),
        ],
        400,
      );
      assert.match(slowBody.answer, /^HTTP\/1\.1 408/);
      assert.ok(slowBody.ms < 6_000, `cut off after ${String(slowBody.ms)} ms`);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
