import { randomUUID } from 'node:crypto';
import { defineTopic, encodeCloudEvent, type EncodedRecord } from '@emporium/platform';
import { z } from 'zod';
import { BENCH_TOPIC } from './topic-name.js';

/** The Kafka pair's topic: small events, validated by the runner as a service's would be. */
export const benchTopic = defineTopic(
  BENCH_TOPIC,
  z.object({ orderId: z.string(), n: z.number().int() }),
);

/** Keys spread over a few aggregates, as order events are. */
const KEYS = Array.from({ length: 64 }, () => randomUUID());

/** The n-th event as a binary-mode CloudEvents record (about 100 bytes of data). */
export function benchRecord(n: number): EncodedRecord {
  const orderId = KEYS[n % KEYS.length] ?? 'order';
  return encodeCloudEvent({
    specversion: '1.0',
    id: randomUUID(),
    source: '/emporium/bench',
    type: 'com.emporium.bench.Tick',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    partitionkey: orderId,
    data: { orderId, n },
  });
}
