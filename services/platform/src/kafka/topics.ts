import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, ITopicConfig, Kafka } from 'kafkajs';
import type { z } from 'zod';

/** A versioned topic and the zod schema of the `data` of every event on it. */
export interface TopicDefinition<T> {
  /** Versioned name, e.g. `orders.v1`; a breaking change to the schema means a new topic. */
  readonly name: string;
  /** The version in the name (`1` for `orders.v1`). */
  readonly version: number;
  /** Validates `data` on produce and on consume. */
  readonly schema: z.ZodType<T>;
  /**
   * The schema of one event type's data, when the topic declares its types: an event of a type
   * it does not declare is refused (undefined), and data is checked against its own type's
   * schema rather than any type's. Without it `schema` alone decides.
   */
  readonly schemaOf?: (type: string) => z.ZodType<T> | undefined;
}

/** What checking an event against its topic found: its parsed data, or why it is refused. */
export type EventCheck<T> =
  { readonly ok: true; readonly data: T } | { readonly ok: false; readonly issues: string[] };

/** Checks an event's type and data against its topic (on produce and on consume alike). */
export function checkEvent<T>(
  topic: TopicDefinition<T>,
  type: string,
  data: unknown,
): EventCheck<T> {
  const schema = topic.schemaOf ? topic.schemaOf(type) : topic.schema;
  if (!schema)
    return { ok: false, issues: [`type: ${type} is not an event type of ${topic.name}`] };
  const parsed = schema.safeParse(data);
  return parsed.success
    ? { ok: true, data: parsed.data }
    : { ok: false, issues: formatIssues(parsed.error.issues) };
}

/** The data type of a topic's events, e.g. `TopicData<typeof ordersTopic>`. */
export type TopicData<D> = D extends TopicDefinition<infer T> ? T : never;

// Lower-case dotted segments ending in the schema version; a subset of Kafka's legal names
// ([a-zA-Z0-9._-]) so every topic reads the same in dashboards and ACLs.
const TOPIC_NAME = /^[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*\.v([1-9][0-9]*)$/;

/** Pairs a versioned topic name (`orders.v1`) with the zod schema of its events' data. */
export function defineTopic<T>(name: string, schema: z.ZodType<T>): TopicDefinition<T> {
  const match = TOPIC_NAME.exec(name);
  if (!match?.[1]) {
    throw new TypeError(
      `Topic name "${name}" must be lower-case dotted segments ending in a version, e.g. "orders.v1".`,
    );
  }
  return Object.freeze({ name, version: Number(match[1]), schema });
}

/** Formats zod issues as `path: message` lines (`(root)` for the data itself). */
export function formatIssues(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return `${path === '' ? '(root)' : path}: ${issue.message}`;
  });
}

/** The dead-letter topic of a consumer group: `<groupId>.dlq`. */
export function deadLetterTopic(groupId: string): string {
  return `${groupId}.dlq`;
}

/** Options of {@link ensureTopics}. */
export interface EnsureTopicsOptions {
  /** Topics to create: definitions or plain names. */
  topics?: readonly (TopicDefinition<unknown> | string)[];
  /** Consumer groups whose `<group>.dlq` topics to create. */
  consumerGroups?: readonly string[];
  /** Partitions of each new topic; the broker's `num.partitions` when omitted. */
  numPartitions?: number;
  /** Replicas of each new topic; the broker's `default.replication.factor` when omitted. */
  replicationFactor?: number;
  /** Topic-level configs, e.g. `[{ name: 'retention.ms', value: '604800000' }]`. */
  configEntries?: ITopicConfig['configEntries'];
}

/**
 * Creates the topics that do not exist yet (and each group's dead-letter topic) and waits for
 * their leaders; existing topics are left as they are, so it is safe to run at every start.
 * Returns the names it created.
 */
export async function ensureTopics(kafka: Kafka, options: EnsureTopicsOptions): Promise<string[]> {
  const wanted = new Set([
    ...(options.topics ?? []).map((topic) => (typeof topic === 'string' ? topic : topic.name)),
    ...(options.consumerGroups ?? []).map(deadLetterTopic),
  ]);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...wanted].filter((name) => !existing.has(name));
    if (missing.length === 0) return [];
    // Another service or replica may create the same topics at the same moment; kafkajs treats
    // TOPIC_ALREADY_EXISTS for every topic as "nothing to do", which keeps this idempotent, but
    // then returns before the topics have leaders. Its own waitForLeaders does not help: it
    // applies only to the creator, and fails on UNKNOWN_TOPIC_OR_PARTITION while the broker
    // has not yet applied the creation. Hence the wait below, whoever created them.
    await admin.createTopics({
      waitForLeaders: false,
      topics: missing.map((topic) => ({
        topic,
        ...(options.numPartitions === undefined ? {} : { numPartitions: options.numPartitions }),
        ...(options.replicationFactor === undefined
          ? {}
          : { replicationFactor: options.replicationFactor }),
        ...(options.configEntries === undefined ? {} : { configEntries: options.configEntries }),
      })),
    });
    await waitForLeaders(admin, missing);
    return missing;
  } finally {
    await admin.disconnect();
  }
}

/** How long {@link ensureTopics} waits for new topics' leaders (ms). */
const LEADERS_TIMEOUT_MS = 30_000;

/**
 * Waits until every partition of the topics has a leader. Without it a consumer subscribing to
 * a topic another service has only just created fails with UNKNOWN_TOPIC_OR_PARTITION, which
 * crashed services starting together on a fresh cluster.
 */
async function waitForLeaders(admin: Admin, topics: readonly string[]): Promise<void> {
  const deadline = Date.now() + LEADERS_TIMEOUT_MS;
  for (;;) {
    let waitingFor: string;
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics: [...topics] });
      const led = new Set(
        found
          .filter((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))
          .map((t) => t.name),
      );
      const leaderless = topics.filter((t) => !led.has(t));
      if (leaderless.length === 0) return;
      waitingFor = leaderless.join(', ');
    } catch (err) {
      // kafkajs gives up on UNKNOWN_TOPIC_OR_PARTITION at once (it retries only
      // LEADER_NOT_AVAILABLE): ask again until the deadline.
      waitingFor = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Kafka topics have no leader after ${String(LEADERS_TIMEOUT_MS)} ms: ${waitingFor}`,
      );
    }
    await sleep(250);
  }
}
