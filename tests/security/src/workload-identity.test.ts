import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  call,
  startKafka,
  startKubernetes,
  startMongo,
  startRedis,
  tempDir,
  type KafkaServer,
  type KubernetesCluster,
  type MongoServer,
  type RedisServer,
} from '@emporium/harness';
import { startServices, type RunningServices } from '@emporium/scripts/stack';
import { generateKeyPair, SignJWT } from 'jose';

/** The namespace the tokens' service accounts live in, as the chart's release would. */
const NAMESPACE = 'emporium';
/** What kubeadm (and kind, and the harness' API server) name the service account issuer. */
const ISSUER = 'https://kubernetes.default.svc.cluster.local';

interface Problem {
  code?: string;
}

/**
 * The chart's workload identity against a real API server: projected service account tokens
 * (here from the TokenRequest API, which is what the kubelet asks for a projected volume),
 * verified by the real inventory with the variables the chart gives it (values `auth.workloads`
 * with `fromApiServer`: the API server's JWKS, fetched with a pod's token and the cluster's CA).
 */
describe('workload identity: Kubernetes service account tokens, verified by the real inventory', function () {
  this.timeout(600_000);
  let kube: KubernetesCluster;
  let kafka: KafkaServer;
  let mongo: MongoServer;
  let redis: RedisServer;
  let stack: RunningServices;
  let dir = '';

  /** A service account token of `account`, made out to `audience` (the API server's without). */
  const token = async (account: string, audience?: string): Promise<string> => {
    const args = ['-n', NAMESPACE, 'create', 'token', account, '--duration', '1h'];
    const { stdout } = await kube.kubectl([...args, ...(audience ? ['--audience', audience] : [])]);
    return stdout.trim();
  };

  before(async function () {
    [kube, kafka, mongo, redis] = await Promise.all([
      startKubernetes({ nodes: 1 }),
      startKafka(),
      startMongo(),
      startRedis(),
    ]);
    await kube.kubectl(['create', 'namespace', NAMESPACE]);
    for (const account of ['orders', 'cart', 'inventory']) {
      await kube.kubectl(['-n', NAMESPACE, 'create', 'serviceaccount', account]);
    }
    // What the chart mounts at /var/run/secrets/emporium/kube-api: a token and the cluster CA.
    dir = await tempDir('workload-identity');
    const kubeconfig = await readFile(kube.kubeconfig, 'utf8');
    // YAML or JSON: the base64 after the key, quoted or not.
    const ca = /certificate-authority-data"?:\s*"?([A-Za-z0-9+/=]+)/.exec(kubeconfig)?.[1] ?? '';
    await writeFile(join(dir, 'ca.crt'), Buffer.from(ca, 'base64'));
    await writeFile(join(dir, 'token'), await token('inventory'));
    stack = await startServices({
      infra: { kafkaBrokers: kafka.brokers, mongoUrl: mongo.url, redisUrl: redis.url },
      only: ['inventory'],
      env: {
        inventory: {
          SERVICE_TOKEN_ISSUER: ISSUER,
          SERVICE_TOKEN_JWKS_URL: `${kube.server}/openid/v1/jwks`,
          SERVICE_TOKEN_JWKS_BEARER_FILE: join(dir, 'token'),
          SERVICE_TOKEN_SUBJECT_PREFIX: `system:serviceaccount:${NAMESPACE}:`,
          NODE_EXTRA_CA_CERTS: join(dir, 'ca.crt'),
        },
      },
    });
  });

  after(async function () {
    await stack.stop();
    await Promise.all([kube.stop(), kafka.stop(), mongo.stop(), redis.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("takes orders' token made out to inventory, and refuses every other", async function () {
    const url = `${stack.services.inventory?.url ?? ''}/reservations`;
    const reserve = async (authorization: string) =>
      call<Problem>(url, {
        method: 'POST',
        headers: { authorization },
        body: JSON.stringify({
          orderId: crypto.randomUUID(),
          lines: [{ sku: 'NO-SUCH-SKU', quantity: 1 }],
        }),
      });
    // Past authentication: inventory looks at the stock (it has none of this sku).
    const accepted = await reserve(`Bearer ${await token('orders', 'inventory')}`);
    assert.equal(accepted.status, 409, JSON.stringify(accepted.body));
    assert.equal(accepted.body.code, 'INSUFFICIENT_STOCK');
    // Another workload of the cluster, with a valid token for inventory: not a caller it takes.
    const cart = await reserve(`Bearer ${await token('cart', 'inventory')}`);
    assert.equal(cart.status, 403);
    assert.equal(cart.body.code, 'CALLER_NOT_ALLOWED');
    // Orders' token for another service, or the API server's own audience: no good here.
    for (const audience of ['cart', undefined]) {
      const elsewhere = await reserve(`Bearer ${await token('orders', audience)}`);
      assert.equal(elsewhere.status, 401, `audience ${String(audience)}`);
      assert.equal(elsewhere.body.code, 'INVALID_TOKEN');
    }
    // The cluster's issuer, orders' subject and inventory's audience, signed by someone else.
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(ISSUER)
      .setSubject(`system:serviceaccount:${NAMESPACE}:orders`)
      .setAudience('inventory')
      .setExpirationTime('1h')
      .sign(privateKey);
    const refused = await reserve(`Bearer ${forged}`);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'INVALID_TOKEN');
  });
});
