import assert from 'node:assert/strict';
import { ConfigError, leaderElectionEnabled, loadConfig } from '@emporium/platform';
import { configSchema } from './config.js';

describe('inventory config', () => {
  const required = {
    KAFKA_BROKERS: '127.0.0.1:9092',
    MONGO_URL: 'mongodb://127.0.0.1:27017',
    JWT_JWKS_URL: 'https://id.example.com/.well-known/jwks.json',
    JWT_ISSUER: 'https://id.example.com',
    JWT_AUDIENCE: 'emporium',
  };

  it('expires reservations after 15 minutes, sweeps every 30 s, elects on the sweeper lease', () => {
    const config = loadConfig(configSchema, required);
    assert.equal(config.RESERVATION_TTL_MS, 900_000);
    assert.equal(config.RESERVATION_SWEEP_INTERVAL_MS, 30_000);
    assert.equal(config.LEADER_ELECTION_LEASE_NAME, 'inventory-sweeper');
    assert.equal(leaderElectionEnabled(config), false); // `npm start`: no cluster, no election
    const inPod = loadConfig(configSchema, {
      ...required,
      KUBERNETES_SERVICE_HOST: '10.96.0.1',
      POD_NAME: 'inventory-5c7d-x2x9q',
    });
    assert.equal(leaderElectionEnabled(inPod), true);
    assert.equal(inPod.POD_NAME, 'inventory-5c7d-x2x9q');
  });

  it('names every bad variable, inconsistent election timings included', () => {
    const error = (() => {
      try {
        loadConfig(configSchema, {
          ...required,
          RESERVATION_TTL_MS: '10',
          RESERVATION_SWEEP_INTERVAL_MS: 'often',
          LEADER_ELECTION_ENABLED: 'maybe',
          LEADER_ELECTION_RENEW_DEADLINE_MS: '20000',
        });
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.issues.map((issue) => issue.variable).sort(), [
      'LEADER_ELECTION_ENABLED',
      'RESERVATION_SWEEP_INTERVAL_MS',
      'RESERVATION_TTL_MS',
    ]);
    // Cross-field checks run once every variable parses on its own.
    assert.throws(
      () =>
        loadConfig(configSchema, {
          ...required,
          LEADER_ELECTION_RENEW_DEADLINE_MS: '20000',
        }),
      /LEADER_ELECTION_RENEW_DEADLINE_MS: expected less than LEADER_ELECTION_LEASE_DURATION_MS/,
    );
  });
});
