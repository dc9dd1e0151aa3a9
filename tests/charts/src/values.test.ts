import assert from 'node:assert/strict';
import { lintChart, templateChart } from './chart.js';

/** Renders with `set` and returns Helm's complaint; fails when Helm accepts the values. */
async function refused(set: Record<string, string>): Promise<string> {
  try {
    await templateChart(['ci/minimal-values.yaml'], set);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // The schema's verdict, not a template failing further on.
    assert.match(message, /values don't meet the specifications of the schema/);
    return message;
  }
  assert.fail(`helm template accepted ${JSON.stringify(set)}`);
}

describe('charts/emporium: values.schema.json refuses bad values', () => {
  it('an unknown mesh mode, naming the allowed ones', async () => {
    const message = await refused({ 'mesh.mode': 'istio' });
    assert.match(message, /mesh\.mode|mesh\/mode/);
    assert.match(message, /envoy.*appmesh.*lattice.*none/s);
  });

  it('a missing image repository', async () => {
    const message = await refused({ 'services.orders.image.repository': '' });
    assert.match(message, /services.orders.image.repository|services\/orders\/image\/repository/);
  });

  it('negative replicas', async () => {
    const message = await refused({ 'serviceDefaults.replicas': '-1' });
    assert.match(message, /replicas/);
    assert.match(message, /minimum|greater than or equal/i);
  });

  it('a misspelt key, in helm template and in helm lint', async () => {
    const message = await refused({ 'serviceDefaults.replica': '2' });
    assert.match(message, /replica/);
    assert.match(message, /additional propert/i);
    await assert.rejects(lintChart(['ci/minimal-values.yaml'], { 'mesh.mod': 'envoy' }), /mod/);
  });

  it('SASL without TLS, and MSK IAM without a region', async () => {
    const plain = await refused({ 'kafka.sasl.enabled': 'true', 'kafka.existingSecret': 'msk' });
    assert.match(plain, /kafka.*tls|kafka\/tls/);
    const iam = await refused({
      'kafka.tls': 'true',
      'kafka.sasl.enabled': 'true',
      'kafka.sasl.mechanism': 'aws-msk-iam',
    });
    assert.match(iam, /awsRegion/);
  });

  it('a misspelt service name', async () => {
    const message = await refused({ 'services.order.enabled': 'true' });
    assert.match(message, /order/);
  });
});
