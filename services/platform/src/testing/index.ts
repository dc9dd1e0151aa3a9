// @emporium/platform/testing: fixtures for the services' tests against real components.
// Production code never imports it: it starts Kafka and FerretDB through @emporium/harness.
export {
  startEventsFixture,
  type EventsFixture,
  type EventsFixtureOptions,
  type FixtureConsumerOptions,
  type FixtureRelayOptions,
} from './events-fixture.js';
export type { EventWatcher, WatchedEvent } from './event-watcher.js';
export { LOCAL_ISSUERS, startTokenIssuer, type TokenIssuer } from '../auth/token-issuer.js';
export { startTestIssuer, type TestIssuer } from './test-issuer.js';
