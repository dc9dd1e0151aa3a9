import type { MongoClient } from 'mongodb';
import type { Redis } from 'ioredis';
import { LATENCY_BUCKETS_SECONDS, traceExemplar, type Metrics } from './metrics.js';

/** The labels of `db_client_operation_duration_seconds` (OpenTelemetry's db.* attributes). */
interface DbLabels {
  db_system_name: 'mongodb' | 'redis';
  db_operation_name: string;
  /** Only on failures. */
  error_type?: string;
}

/**
 * `db_client_operation_duration_seconds`, the OpenTelemetry database client histogram, as a
 * function of labels and seconds (the registry's histograms take exemplars, hence the object).
 */
function dbHistogram(metrics: Metrics): (labels: DbLabels, seconds: number) => void {
  const histogram = metrics.histogram<keyof DbLabels>({
    name: 'db_client_operation_duration_seconds',
    help: 'Duration of MongoDB commands and Redis commands, from send to reply, in seconds.',
    labelNames: ['db_system_name', 'db_operation_name', 'error_type'],
    buckets: LATENCY_BUCKETS_SECONDS,
  });
  return (labels, value) => {
    histogram.observe({ labels: { ...labels }, value, exemplarLabels: traceExemplar() });
  };
}

/**
 * Times every MongoDB command from the driver's command monitoring events (the client must be
 * created with `monitorCommands: true`). The command name (`find`, `update`, `aggregate`) is
 * the operation; heartbeats are not commands and stay out.
 */
export function observeMongoCommands(client: MongoClient, metrics: Metrics): void {
  const observe = dbHistogram(metrics);
  client.on('commandSucceeded', (event) => {
    observe(
      { db_system_name: 'mongodb', db_operation_name: event.commandName },
      event.duration / 1000,
    );
  });
  client.on('commandFailed', (event) => {
    const error = event.failure as { codeName?: string; name?: string };
    observe(
      {
        db_system_name: 'mongodb',
        db_operation_name: event.commandName,
        error_type: error.codeName ?? error.name ?? 'Error',
      },
      event.duration / 1000,
    );
  });
}

/** What {@link observeRedisCommands} reads of an ioredis command. */
interface RedisCommand {
  readonly name: string;
  readonly promise: Promise<unknown>;
}

/**
 * Times every Redis command by wrapping the client's `sendCommand`, the one door all commands
 * (and pipelines' members) go through; ioredis has no timing events of its own, and this is
 * the hook OpenTelemetry's ioredis instrumentation uses too.
 */
export function observeRedisCommands(client: Redis, metrics: Metrics): void {
  const observe = dbHistogram(metrics);
  const send = client.sendCommand.bind(client) as (...args: unknown[]) => unknown;
  const wrapped = (command: RedisCommand, ...rest: unknown[]): unknown => {
    const started = process.hrtime.bigint();
    const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    const operation = command.name.toLowerCase();
    command.promise.then(
      () => {
        observe({ db_system_name: 'redis', db_operation_name: operation }, seconds());
      },
      (error: unknown) => {
        const type = error instanceof Error ? error.name : 'Error';
        observe(
          { db_system_name: 'redis', db_operation_name: operation, error_type: type },
          seconds(),
        );
      },
    );
    return send(command, ...rest);
  };
  Object.assign(client, { sendCommand: wrapped });
}
