import {
  MongoClient,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  type MongoClientOptions,
  type ReadPreferenceMode,
} from 'mongodb';
import { errors } from '../errors.js';

/** Options of {@link createMongoClient}; every timeout is in milliseconds. */
export interface MongoClientFactoryOptions {
  /** A `mongodb://` or `mongodb+srv://` connection string; query options in it still apply. */
  url: string;
  /** Shown in the server's logs and `currentOp` (e.g. `orders`). */
  appName: string;
  /**
   * A CA bundle for TLS, e.g. Amazon's `global-bundle.pem` for DocumentDB; setting it turns TLS
   * on. Leave it unset for FerretDB and for servers whose certificate the system trusts.
   */
  tlsCaFile?: string;
  /** Forces TLS on or off; by default on when `tlsCaFile` is given, else as the URL says. */
  tls?: boolean;
  /** `false` on DocumentDB, which rejects retryable writes; the driver's default (true) else. */
  retryWrites?: boolean;
  /** `secondaryPreferred` spreads reads on DocumentDB replicas; the driver's `primary` else. */
  readPreference?: ReadPreferenceMode;
  /** How long an operation waits for a usable server before failing (→ 503); default 5 s. */
  serverSelectionTimeoutMs?: number;
  /** TCP + TLS handshake bound of one connection; default 5 s. */
  connectTimeoutMs?: number;
  /** Bound on a socket waiting for a reply; the driver's default (0) would wait forever. */
  socketTimeoutMs?: number;
  /** Connections per server; default 20 (the driver's 100 is a lot for a small pod). */
  maxPoolSize?: number;
  /** Passed through last, for anything not covered above. */
  extra?: MongoClientOptions;
}

/** The bounded defaults: a dead server shows up as a 503 within seconds, not minutes. */
const DEFAULTS = {
  serverSelectionTimeoutMs: 5_000,
  connectTimeoutMs: 5_000,
  socketTimeoutMs: 30_000,
  maxPoolSize: 20,
} as const;

/** The driver options {@link createMongoClient} uses; exported so a service can log them. */
export function mongoClientOptions(options: MongoClientFactoryOptions): MongoClientOptions {
  const tls = options.tls ?? (options.tlsCaFile === undefined ? undefined : true);
  return {
    appName: options.appName,
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? DEFAULTS.serverSelectionTimeoutMs,
    connectTimeoutMS: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    socketTimeoutMS: options.socketTimeoutMs ?? DEFAULTS.socketTimeoutMs,
    maxPoolSize: options.maxPoolSize ?? DEFAULTS.maxPoolSize,
    // A request should not queue behind a starved pool longer than it would wait for a server.
    waitQueueTimeoutMS: options.serverSelectionTimeoutMs ?? DEFAULTS.serverSelectionTimeoutMs,
    ...(tls === undefined ? {} : { tls }),
    ...(options.tlsCaFile === undefined ? {} : { tlsCAFile: options.tlsCaFile }),
    ...(options.retryWrites === undefined ? {} : { retryWrites: options.retryWrites }),
    ...(options.readPreference === undefined ? {} : { readPreference: options.readPreference }),
    ...options.extra,
  };
}

/**
 * Creates a MongoClient for MongoDB, DocumentDB or FerretDB. It connects lazily on the first
 * operation, so a service starts even while the database is down and answers 503 meanwhile.
 */
export function createMongoClient(options: MongoClientFactoryOptions): MongoClient {
  return new MongoClient(options.url, mongoClientOptions(options));
}

/** Readiness check: resolves when the server answers `ping` within `timeoutMs`, else rejects. */
export async function pingMongo(client: MongoClient, timeoutMs = 2_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`MongoDB did not answer ping within ${String(timeoutMs)} ms`));
    }, timeoutMs);
  });
  try {
    await Promise.race([client.db('admin').command({ ping: 1 }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Server error codes that mean "this node cannot serve now" (shutting down, stepping down,
 * unreachable) rather than "your request is wrong": the driver's retryable-read set.
 */
const UNAVAILABLE_SERVER_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** True when an error means the database is unreachable (not that the request was bad). */
export function isMongoUnavailableError(error: unknown): boolean {
  if (!(error instanceof MongoError)) return false;
  if (
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNetworkError || // includes timeouts and a pool cleared after one
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError
  ) {
    return true;
  }
  // Not exported by the driver: a request waited too long for a pooled connection.
  if (error.name === 'MongoWaitQueueTimeoutError') return true;
  return (
    error instanceof MongoServerError &&
    typeof error.code === 'number' &&
    UNAVAILABLE_SERVER_CODES.has(error.code)
  );
}

/**
 * Maps a connection or server-selection error to a 503 AppError with Retry-After; any other
 * error (duplicate key, validation, a bug) comes back unchanged for the caller to handle.
 */
export function toMongoUnavailable(error: unknown, retryAfterSeconds = 5): unknown {
  if (!isMongoUnavailableError(error)) return error;
  return errors.unavailable('The database is unavailable.', retryAfterSeconds, error);
}

/** Runs a database call, rethrowing unavailability as a 503 `AppError`. */
export async function withMongoUnavailable<T>(
  operation: () => Promise<T>,
  retryAfterSeconds = 5,
): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toMongoUnavailable(error, retryAfterSeconds);
  }
}
