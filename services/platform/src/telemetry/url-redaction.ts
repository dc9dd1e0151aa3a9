import { SpanKind, type Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_URL_FULL } from '@opentelemetry/semantic-conventions';

/** What a redacted query value reads in a span. */
export const REDACTED = 'REDACTED';

/**
 * A URL as a span may record it: every query value redacted (`?userId=REDACTED`) and any
 * user:password dropped, so ids, search terms and credentials stay out of traces while the
 * shape of the call stays readable. A string that is no absolute URL loses everything from
 * its first `?` instead.
 */
export function redactedUrl(url: URL | string): string {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return String(url).split('?', 1)[0] ?? '';
  }
  const keys = [...new Set(parsed.searchParams.keys())];
  const query = keys.map((key) => `${encodeURIComponent(key)}=${REDACTED}`).join('&');
  return `${parsed.origin}${parsed.pathname}${query ? `?${query}` : ''}`;
}

/**
 * Redacts the query values of `url.full` on every CLIENT span, whoever made it: the HTTP
 * instrumentation (outbound `node:http` calls, e.g. the Kubernetes client's) records the query
 * as sent and only redacts a few signature keys by default. The platform's upstream client
 * already records a redacted URL; this catches the rest. Runs in `onStart`, where the
 * instrumentations have set `url.full` and the span can still be changed.
 */
export class UrlQueryRedactor implements SpanProcessor {
  onStart(span: Span, _parentContext: Context): void {
    if (span.kind !== SpanKind.CLIENT) return;
    const full = span.attributes[ATTR_URL_FULL];
    if (typeof full === 'string' && full.includes('?')) {
      span.setAttribute(ATTR_URL_FULL, redactedUrl(full));
    }
  }

  onEnd(_span: ReadableSpan): void {
    // Nothing to do once the span ended.
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
