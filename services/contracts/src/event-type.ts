import { defineTopic, type CloudEvent, type TopicDefinition } from '@emporium/platform';
import { z } from 'zod';

/** One kind of event: its CloudEvents `type` and the zod schema of its `data`. */
export interface EventType<T> {
  /** Reverse-DNS CloudEvents type, e.g. `com.emporium.orders.OrderPlaced`. */
  readonly type: string;
  /** The short name used in documents and metrics, e.g. `OrderPlaced`. */
  readonly name: string;
  readonly summary: string;
  readonly schema: z.ZodType<T>;
  /** Narrows an event of the topic to this type, re-validating its data against this schema. */
  is(event: CloudEvent<unknown>): event is CloudEvent<T>;
}

/** Declares an event type `com.emporium.<domain>.<name>`. */
export function eventType<T>(
  domain: string,
  name: string,
  summary: string,
  schema: z.ZodType<T>,
): EventType<T> {
  const type = `com.emporium.${domain}.${name}`;
  return Object.freeze({
    type,
    name,
    summary,
    schema,
    is: (event: CloudEvent<unknown>): event is CloudEvent<T> =>
      event.type === type && schema.safeParse(event.data).success,
  });
}

/** The data type of an event type. */
export type EventData<E> = E extends EventType<infer T> ? T : never;

/** A versioned topic together with the event types it carries and who produces it. */
export interface EventTopic<T> extends TopicDefinition<T> {
  readonly summary: string;
  /** The service that owns and produces the topic. */
  readonly producer: string;
  readonly events: readonly EventType<T>[];
}

/**
 * Declares a topic whose data schema accepts any of its event types' data; consumers branch
 * on the CloudEvents `type` with {@link EventType.is}.
 */
export function eventTopic<const E extends readonly EventType<unknown>[]>(
  name: string,
  options: { summary: string; producer: string; events: E },
): EventTopic<EventData<E[number]>> {
  type Data = EventData<E[number]>;
  const schemas = options.events.map((e) => e.schema as unknown as z.ZodType<Data>);
  const [first, ...rest] = schemas;
  if (!first) throw new TypeError(`topic ${name} declares no event types`);
  const schema: z.ZodType<Data> = rest.length === 0 ? first : z.union([first, ...rest]);
  const byType = new Map(
    options.events.map((e) => [e.type, e.schema as unknown as z.ZodType<Data>] as const),
  );
  return Object.freeze({
    ...defineTopic(name, schema),
    // An event is checked against its own type's schema; a type the topic does not carry is
    // refused (by the producer before sending, by consumers into their DLQ).
    schemaOf: (type: string) => byType.get(type),
    summary: options.summary,
    producer: options.producer,
    events: options.events as unknown as readonly EventType<Data>[],
  });
}
