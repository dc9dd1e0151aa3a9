import assert from 'node:assert/strict';
import { SpanKind } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { redactedUrl, UrlQueryRedactor } from './url-redaction.js';

describe('url.full redaction', () => {
  it('keeps the query keys and drops their values and any credentials', () => {
    assert.equal(
      redactedUrl('http://u:p@cart:8080/carts/x?userId=alice&q=a&q=b'),
      'http://cart:8080/carts/x?userId=REDACTED&q=REDACTED',
    );
    assert.equal(redactedUrl(new URL('https://catalog/products')), 'https://catalog/products');
    assert.equal(redactedUrl('/relative?userId=alice'), '/relative');
  });

  it('rewrites url.full of CLIENT spans only, before they are exported', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new UrlQueryRedactor(), new SimpleSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('test');
    const url = 'http://127.0.0.1:9/leases?userId=alice';
    tracer.startSpan('GET', { kind: SpanKind.CLIENT, attributes: { 'url.full': url } }).end();
    tracer.startSpan('GET', { kind: SpanKind.SERVER, attributes: { 'url.full': url } }).end();
    const [client, server] = exporter.getFinishedSpans();
    assert.equal(client?.attributes['url.full'], 'http://127.0.0.1:9/leases?userId=REDACTED');
    assert.equal(server?.attributes['url.full'], url);
  });
});
