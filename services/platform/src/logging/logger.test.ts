import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { createLogger } from './logger.js';

/** Collects the JSON lines a logger writes. */
function sink(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('logging', () => {
  const manager = new AsyncLocalStorageContextManager();
  before(() => {
    context.setGlobalContextManager(manager.enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider());
  });
  after(() => {
    trace.disable();
    context.disable();
  });

  it('writes JSON with service, version, level word and ISO time', () => {
    const out = sink();
    createLogger({
      service: 'orders',
      version: '1.2.3',
      level: 'info',
      destination: out.stream,
    }).info({ orderId: 'o-1' }, 'order accepted');
    const [line] = out.lines();
    assert.equal(line?.service, 'orders');
    assert.equal(line.version, '1.2.3');
    assert.equal(line.level, 'info');
    assert.equal(line.msg, 'order accepted');
    assert.equal(line.orderId, 'o-1');
    assert.ok(!Number.isNaN(Date.parse(String(line.time))));
    assert.equal(line.trace_id, undefined);
  });

  it('stamps trace_id and span_id of the active span', () => {
    const out = sink();
    const logger = createLogger({
      service: 's',
      version: 'v',
      level: 'info',
      destination: out.stream,
    });
    const tracer = trace.getTracer('test');
    let expected = { traceId: '', spanId: '' };
    tracer.startActiveSpan('work', (span) => {
      expected = span.spanContext();
      logger.info('inside');
      span.end();
    });
    const [line] = out.lines();
    assert.match(String(line?.trace_id), /^[0-9a-f]{32}$/);
    assert.equal(line?.trace_id, expected.traceId);
    assert.equal(line.span_id, expected.spanId);
  });

  it('redacts authorization headers and secrets, and drops levels below the threshold', () => {
    const out = sink();
    const logger = createLogger({
      service: 's',
      version: 'v',
      level: 'warn',
      destination: out.stream,
    });
    logger.info('hidden');
    logger.warn(
      {
        req: { headers: { authorization: 'Bearer eyJhbGciOi', accept: 'application/json' } },
        user: { id: 'u1', password: 'hunter2' },
        token: 'abc',
      },
      'login',
    );
    const lines = out.lines();
    assert.equal(lines.length, 1);
    const text = JSON.stringify(lines[0]);
    assert.doesNotMatch(text, /eyJhbGciOi|hunter2|"abc"/);
    assert.match(text, /"authorization":"\[REDACTED\]"/);
    assert.match(text, /"accept":"application\/json"/);
    assert.match(text, /"id":"u1"/);
  });
});
