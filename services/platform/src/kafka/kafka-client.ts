import { Kafka, logLevel, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';

/** Options of {@link createKafka}. */
export interface KafkaClientOptions {
  clientId: string;
  brokers: readonly string[];
  /** TLS to the brokers (MSK); plaintext by default (the local broker). */
  ssl?: boolean;
  /** SASL: SCRAM credentials, or MSK IAM's OAUTHBEARER provider (see kafkaSasl). */
  sasl?: SASLOptions;
  logger: Logger;
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * A kafkajs client whose own log lines go through the service's pino logger (as JSON, with
 * trace ids) instead of kafkajs's console logger, at WARN and above: kafkajs logs every
 * retried coordinator lookup at ERROR on a healthy start, which is noise at INFO.
 */
export function createKafka(options: KafkaClientOptions): Kafka {
  const logger = options.logger.child({ component: 'kafkajs' });
  const { sasl } = options;
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    ...(options.ssl ? { ssl: true } : {}),
    ...(sasl ? { sasl } : {}),
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...rest } = log;
        logger[LEVELS[level] ?? 'info'](rest, message);
      },
  });
}
