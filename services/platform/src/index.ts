// @emporium/platform: the shared service chassis. Each module is documented in README.md.
export {
  AppError,
  errors,
  PlatformErrorCode,
  problemType,
  toProblem,
  type AppErrorOptions,
  type FieldError,
  type ProblemDocument,
} from './errors.js';
export {
  baseConfigSchema,
  ConfigError,
  configIssues,
  envVar,
  EXIT_CONFIG,
  loadConfig,
  loadConfigOrExit,
  LOG_LEVELS,
  type BaseConfig,
  type ConfigIssue,
  type Environment,
} from './config/config.js';
export {
  createLogger,
  REDACTED_PATHS,
  type Logger,
  type LoggerSettings,
} from './logging/logger.js';
export {
  createMetrics,
  LATENCY_BUCKETS_SECONDS,
  traceExemplar,
  type Metrics,
  type MetricsOptions,
} from './telemetry/metrics.js';
export { observeMongoCommands, observeRedisCommands } from './telemetry/db-metrics.js';
export {
  defaultInstrumentations,
  startTelemetry,
  type Telemetry,
  type TelemetryOptions,
} from './telemetry/sdk.js';
export { getTelemetry } from './telemetry/handle.js';
export {
  createLifecycle,
  SHUTDOWN_PHASES,
  type Lifecycle,
  type LifecycleOptions,
  type ShutdownAware,
  type ShutdownPhase,
} from './lifecycle/lifecycle.js';
export {
  createFaults,
  faultRuleSchema,
  faultsVar,
  type FaultOptions,
  type FaultRule,
  type Faults,
} from './faults/faults.js';
export {
  createMongoClient,
  isMongoUnavailableError,
  mongoClientOptions,
  pingMongo,
  toMongoUnavailable,
  withMongoUnavailable,
  type MongoClientFactoryOptions,
} from './mongo/mongo-client.js';
export {
  buildOutboxEvent,
  ensureOutboxIndexes,
  insertWithOutbox,
  OUTBOX_INDEX_NAME,
  outboxFields,
  outboxNamespace,
  onOutboxCommit,
  updateWithOutbox,
  type NewOutboxEvent,
  type OutboxCommit,
  type OutboxCommitListener,
  type OutboxDocument,
  type OutboxEvent,
  type OutboxUpdateOptions,
  type OutboxWriteOptions,
  type StoredOutboxEvent,
} from './mongo/outbox.js';
export {
  createOutboxRelay,
  type DeadOutboxEvent,
  type OutboxRelay,
  type OutboxRelayOptions,
  type OutboxRoundResult,
} from './mongo/outbox-relay.js';
export {
  createRedisClient,
  pingRedis,
  redisClientOptions,
  waitForRedis,
  type RedisClientFactoryOptions,
} from './redis/redis-client.js';
export { createCache, type Cache, type CacheOptions } from './redis/cache-aside.js';
export {
  createRateLimiter,
  type RateLimitDecision,
  type RateLimiter,
  type RateLimiterOptions,
} from './redis/rate-limiter.js';
export {
  CE_HEADERS,
  CLOUDEVENTS_SPEC_VERSION,
  CloudEventDecodeError,
  decodeCloudEvent,
  encodeCloudEvent,
  headersToStrings,
  JSON_CONTENT_TYPE,
  type CloudEvent,
  type EncodedRecord,
  type IncomingRecord,
} from './kafka/cloudevents.js';
export {
  backoffDelay,
  createConsumerRunner,
  DLQ_HEADERS,
  eventHandler,
  isTransientError,
  RetryLaterError,
  type BackoffOptions,
  type ConsumerRunner,
  type ConsumerRunnerOptions,
  type EventContext,
  type EventHandler,
  type IdempotencyStore,
  type PreparedEvent,
  type TopicHandler,
} from './kafka/consumer-runner.js';
export {
  createEventProducer,
  EventSchemaError,
  type EventProducer,
  type EventProducerOptions,
  type EventPublisher,
  type OutgoingEvent,
} from './kafka/event-producer.js';
export {
  MessagingAttr,
  messagingMetrics,
  type DeadLetterReason,
  type MessagingMetrics,
  type ProcessOutcome,
} from './kafka/messaging-telemetry.js';
export {
  checkEvent,
  deadLetterTopic,
  defineTopic,
  ensureTopics,
  formatIssues,
  type EnsureTopicsOptions,
  type TopicData,
  type TopicDefinition,
} from './kafka/topics.js';
export {
  actorOf,
  authenticate,
  authorizeCaller,
  bearerToken,
  callerOf,
  tokensRefusedCounter,
} from './http/identity.js';
export {
  ADMIN_ROLE,
  createCallerVerifier,
  isAdmin,
  mayActFor,
  type Caller,
  type CallerVerifier,
  type CallerVerifierOptions,
  type ServiceTokenOptions,
  type UserTokenOptions,
} from './auth/verifiers.js';
export { hasAudience, rolesOf, userIdOf, type Claims } from './auth/claims.js';
export {
  adminRequired,
  callerNotAllowed,
  invalidToken,
  jwksUnavailable,
  TOKEN_REFUSALS,
  TokenRefusedError,
  tokenRequired,
  type TokenRefusal,
} from './auth/token-errors.js';
export {
  authConfigShape,
  callersFor,
  callerVerifierOptions,
  checkAuth,
  JWT_ALGORITHM,
  trustedJwksUrl,
  type AuthConfig,
} from './auth/auth-config.js';
export { serviceTokensFrom, type ServiceTokens } from './auth/service-tokens.js';
export { createHttpApp, type AppDeps, type HttpApp, type HttpAppOptions } from './http/http-app.js';
export {
  createReadiness,
  type CheckStatus,
  type Readiness,
  type ReadinessCheck,
  type ReadinessOptions,
  type ReadinessReport,
} from './http/readiness.js';
export {
  createOpenApiDocument,
  toOpenApiPath,
  type HttpMethod,
  type OpenAPIObject,
  type OpenApiDocument,
  type OpenApiInfo,
  type ResponseSpec,
} from './http/openapi.js';
export {
  JSON_MEDIA_TYPES,
  type Authorize,
  type RouteAccess,
  type RouteHandler,
  type RouteMethod,
  type RouteSpec,
  type Routes,
  type TypedRequest,
} from './http/route-registry.js';
export { PROBLEM_CONTENT_TYPE, ProblemSchema, sendProblem, toAppError } from './http/problem.js';
export { fieldErrors, validateRequest } from './http/validation.js';
export { REQUEST_ID_HEADER } from './http/request-context.js';
export {
  createUpstreamClient,
  upstreamClients,
  type UpstreamClient,
  type UpstreamClientOptions,
  type UpstreamSettings,
  type UpstreamMethod,
  type UpstreamRequest,
  type UpstreamResponse,
} from './http/upstream-client.js';
export { createKafka, type KafkaClientOptions } from './kafka/kafka-client.js';
export {
  kafkaConfigShape,
  checkKafkaSasl,
  kafkaSasl,
  SASL_MECHANISMS,
  type KafkaSecurityConfig,
  mongoConfigShape,
  outboxConfigShape,
  redisConfigShape,
  upstreamConfigShape,
} from './service/service-config.js';
export {
  isPoisonPublishError,
  outboxPublisher,
  UnknownOutboxTopicError,
} from './service/outbox-publisher.js';
export { listen } from './service/listen.js';
export { createKeyedMutex, type KeyedMutex } from './mongo/keyed-mutex.js';
export {
  createServiceRuntime,
  type KafkaConfig,
  type KafkaTopics,
  type MongoConfig,
  type RelayOptions,
  type ServiceRuntime,
} from './service/runtime.js';
export {
  checkTimings,
  isLeaderGauge,
  LEADER_ELECTION_DEFAULTS,
  startLeaderElection,
  type LeaderElection,
  type LeaderElectionOptions,
  type LeaderElectionTimings,
} from './kube/leader-election.js';
export {
  holderIdentity,
  checkLeaderElection,
  leaderElectionConfigShape,
  leaderElectionEnabled,
  leaderElectionTimingIssues,
  leaseNamespace,
  loadKubeConfig,
  SERVICE_ACCOUNT_NAMESPACE_FILE,
  soleLeader,
  startLeadership,
  type LeaderElectionConfig,
  type LeadershipOptions,
} from './kube/leadership.js';
