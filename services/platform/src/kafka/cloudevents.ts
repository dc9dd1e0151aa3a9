import type { IHeaders } from 'kafkajs';
import { z } from 'zod';

/**
 * CloudEvents 1.0 over Kafka in binary content mode: attributes in `ce_`-prefixed headers,
 * `content-type` carrying datacontenttype, the JSON data as the record value, and the
 * aggregate id as the record key (the binding's `partitionkey`).
 *
 * Written here rather than with the `cloudevents` SDK's Kafka binding: its binary serializer
 * leaves `data` unserialised and adds non-spec `ce_datacontenttype`/`ce_partitionkey` headers
 * (some `undefined`), and its deserializer skips attribute validation (an event without
 * `ce_type` decodes) and wants string headers where kafkajs gives Buffers.
 */

/** The CloudEvents spec version this binding writes and accepts. */
export const CLOUDEVENTS_SPEC_VERSION = '1.0';

/** The only datacontenttype Emporium's events carry. */
export const JSON_CONTENT_TYPE = 'application/json';

/** A CloudEvents 1.0 event with JSON data, as Emporium's services exchange them. */
export interface CloudEvent<T> {
  readonly specversion: typeof CLOUDEVENTS_SPEC_VERSION;
  /** Unique per source; consumers deduplicate redeliveries by it. */
  readonly id: string;
  /** URI-reference of the producing service, e.g. `/emporium/orders`. */
  readonly source: string;
  /** Reverse-DNS event type, e.g. `com.emporium.orders.OrderPlaced`. */
  readonly type: string;
  /** RFC 3339 time of the occurrence; optional in the spec, always written by Emporium. */
  readonly time: string;
  /** The subject within the source, e.g. an order id. */
  readonly subject?: string | undefined;
  readonly datacontenttype: typeof JSON_CONTENT_TYPE;
  /** The Kafka record key: the aggregate id, so one aggregate's events stay in order. */
  readonly partitionkey?: string | undefined;
  readonly data: T;
}

/** A Kafka record as produced: what kafkajs `producer.send` takes as one message. */
export interface EncodedRecord {
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

/** A Kafka record as consumed: kafkajs's `KafkaMessage` fits it. */
export interface IncomingRecord {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: IHeaders | undefined;
}

/** A record that is not a valid CloudEvent of this binding (missing attribute, bad JSON). */
export class CloudEventDecodeError extends Error {
  override readonly name = 'CloudEventDecodeError';
}

/** Header names of the attributes; `content-type` maps datacontenttype in binary mode. */
export const CE_HEADERS = {
  specversion: 'ce_specversion',
  id: 'ce_id',
  source: 'ce_source',
  type: 'ce_type',
  time: 'ce_time',
  subject: 'ce_subject',
  contentType: 'content-type',
} as const;

/** Encodes an event as a binary-mode Kafka record. */
export function encodeCloudEvent(event: CloudEvent<unknown>): EncodedRecord {
  const json = JSON.stringify(event.data) as string | undefined;
  if (json === undefined) throw new TypeError('CloudEvent data must be JSON-serialisable.');
  const headers: Record<string, string> = {
    [CE_HEADERS.specversion]: event.specversion,
    [CE_HEADERS.id]: event.id,
    [CE_HEADERS.source]: event.source,
    [CE_HEADERS.type]: event.type,
    [CE_HEADERS.time]: event.time,
    [CE_HEADERS.contentType]: event.datacontenttype,
  };
  if (event.subject !== undefined) headers[CE_HEADERS.subject] = event.subject;
  return { key: event.partitionkey ?? null, value: Buffer.from(json, 'utf8'), headers };
}

/** Kafka headers as strings: Buffers decoded as UTF-8, the first of a repeated header kept. */
export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined) out[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  return out;
}

const nonEmpty = z.string().min(1, 'must not be empty');

const attributesSchema = z.object({
  [CE_HEADERS.specversion]: z.literal(CLOUDEVENTS_SPEC_VERSION, {
    error: `must be "${CLOUDEVENTS_SPEC_VERSION}"`,
  }),
  [CE_HEADERS.id]: nonEmpty,
  [CE_HEADERS.source]: nonEmpty,
  [CE_HEADERS.type]: nonEmpty,
  [CE_HEADERS.time]: z.iso.datetime({ offset: true, error: 'must be an RFC 3339 timestamp' }),
  [CE_HEADERS.subject]: nonEmpty.optional(),
  // Parameters such as `; charset=utf-8` are allowed; any other media type is not ours.
  [CE_HEADERS.contentType]: z
    .string()
    .regex(/^application\/json\s*(?:;.*)?$/i, `must be ${JSON_CONTENT_TYPE}`),
});

/**
 * Decodes a binary-mode record into an event with its JSON data parsed but not yet validated
 * against a topic schema. Throws {@link CloudEventDecodeError} naming what is wrong.
 */
export function decodeCloudEvent(
  record: IncomingRecord,
  /** The record's headers already decoded with {@link headersToStrings} (saves decoding twice). */
  decoded?: Readonly<Record<string, string>>,
): CloudEvent<unknown> {
  const headers = decoded ?? headersToStrings(record.headers);
  const attributes = attributesSchema.safeParse(headers);
  if (!attributes.success) {
    const problems = attributes.error.issues.map((issue) => {
      const header = issue.path.map(String).join('.');
      return `${header} ${headers[header] === undefined ? 'is missing' : issue.message}`;
    });
    throw new CloudEventDecodeError(`Not a CloudEvent: ${problems.join('; ')}.`);
  }
  if (record.value === null) throw new CloudEventDecodeError('The record has no value (data).');
  const text = typeof record.value === 'string' ? record.value : record.value.toString('utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new CloudEventDecodeError(`The data is not valid JSON: ${why}`);
  }
  const a = attributes.data;
  const key = record.key === null ? undefined : record.key.toString();
  return {
    specversion: a[CE_HEADERS.specversion],
    id: a[CE_HEADERS.id],
    source: a[CE_HEADERS.source],
    type: a[CE_HEADERS.type],
    time: a[CE_HEADERS.time],
    ...(a[CE_HEADERS.subject] === undefined ? {} : { subject: a[CE_HEADERS.subject] }),
    datacontenttype: JSON_CONTENT_TYPE,
    ...(key === undefined ? {} : { partitionkey: key }),
    data,
  };
}
