import assert from 'node:assert/strict';
import { baseConfigSchema, configIssues, loadConfig } from '../config/config.js';
import { checkKafkaSasl, kafkaConfigShape, kafkaSasl } from './service-config.js';

/** A service's schema as the Kafka services build it. */
const schema = baseConfigSchema.extend(kafkaConfigShape).superRefine(checkKafkaSasl);

const BASE = { SERVICE_NAME: 'orders', KAFKA_BROKERS: 'b-1.msk.example:9096' };

/** The variables a start with `env` names as bad, with their messages. */
const badVariables = (env: Record<string, string>): Record<string, string> =>
  configIssues(schema, { ...BASE, ...env });

describe('Kafka SASL settings', () => {
  it('refuses partial SCRAM settings, naming each missing variable, instead of running without SASL', () => {
    assert.deepEqual(Object.keys(badVariables({ KAFKA_SASL_USERNAME: 'app' })), [
      'KAFKA_SASL_MECHANISM',
    ]);
    assert.match(
      badVariables({ KAFKA_SASL_USERNAME: 'app', KAFKA_SASL_PASSWORD: 'secret' })
        .KAFKA_SASL_MECHANISM ?? '',
      /required with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/,
    );
    assert.deepEqual(
      Object.keys(
        badVariables({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SSL: 'true' }),
      ).sort(),
      ['KAFKA_SASL_PASSWORD', 'KAFKA_SASL_USERNAME'],
    );
    assert.match(
      badVariables({
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'app',
        KAFKA_SASL_PASSWORD: 'secret',
      }).KAFKA_SSL ?? '',
      /must be true/,
    );
    assert.match(
      badVariables({ KAFKA_SASL_MECHANISM: 'plain' }).KAFKA_SASL_MECHANISM ?? '',
      /scram-sha-256|aws-msk-iam/,
    );
  });

  it('MSK IAM needs the region and no password, and signs in with an OAUTHBEARER token', () => {
    assert.deepEqual(
      Object.keys(badVariables({ KAFKA_SASL_MECHANISM: 'aws-msk-iam', KAFKA_SSL: 'true' })),
      ['KAFKA_AWS_REGION'],
    );
    assert.deepEqual(
      Object.keys(
        badVariables({
          KAFKA_SASL_MECHANISM: 'aws-msk-iam',
          KAFKA_SSL: 'true',
          KAFKA_AWS_REGION: 'eu-west-1',
          KAFKA_SASL_PASSWORD: 'secret',
        }),
      ),
      ['KAFKA_SASL_PASSWORD'],
    );
    assert.deepEqual(Object.keys(badVariables({ KAFKA_AWS_REGION: 'eu-west-1' })), [
      'KAFKA_SASL_MECHANISM',
    ]);
    assert.match(
      badVariables({ KAFKA_SASL_MECHANISM: 'aws-msk-iam', KAFKA_AWS_REGION: 'Ireland' })
        .KAFKA_AWS_REGION ?? '',
      /AWS region/,
    );

    const config = loadConfig(schema, {
      ...BASE,
      KAFKA_SASL_MECHANISM: 'aws-msk-iam',
      KAFKA_SSL: 'true',
      KAFKA_AWS_REGION: 'eu-west-1',
    });
    const sasl = kafkaSasl(config);
    assert.equal(sasl?.mechanism, 'oauthbearer');
    assert.equal(
      typeof (sasl as { oauthBearerProvider?: unknown }).oauthBearerProvider,
      'function',
    );
  });

  it('passes SCRAM credentials through, and no SASL when none is configured', () => {
    const scram = loadConfig(schema, {
      ...BASE,
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'app',
      KAFKA_SASL_PASSWORD: 'secret',
    });
    assert.deepEqual(kafkaSasl(scram), {
      mechanism: 'scram-sha-512',
      username: 'app',
      password: 'secret',
    });
    assert.equal(kafkaSasl(loadConfig(schema, BASE)), undefined);
  });
});
