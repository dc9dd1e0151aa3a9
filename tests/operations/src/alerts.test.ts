import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  eventually,
  freePort,
  repoRoot,
  runNodeScript,
  startAlertmanager,
  tempDir,
  type AlertmanagerServer,
} from '@emporium/harness';
import { rulesFile } from '@emporium/scripts/observability';
import {
  freeStackPorts,
  registerScrapeTarget,
  startStack,
  type Stack,
} from '@emporium/scripts/stack';

/** One notification Alertmanager posts to a webhook (its webhook payload, version 4). */
interface Notification {
  status: 'firing' | 'resolved';
  alerts: { status: 'firing' | 'resolved'; labels: Record<string, string> }[];
}

describe('alerts: real Prometheus and Alertmanager, the stack under load', function () {
  let webhook: Server;
  let alertmanager: AlertmanagerServer;
  let stack: Stack;
  let dataDir: string;
  const received: Notification[] = [];

  before(async function () {
    webhook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push(JSON.parse(Buffer.concat(chunks).toString()) as Notification);
        res.end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const { port } = webhook.address() as AddressInfo;
    alertmanager = await startAlertmanager({
      webhookUrl: `http://127.0.0.1:${String(port)}/alerts`,
    });
    stack = await startStack({
      ports: await freeStackPorts(),
      dataDir: (dataDir = await tempDir('alerts-data')),
      logLevel: 'warn',
      scrapeInterval: '1s',
      // The chart's rules with the waits of a test: seconds instead of minutes.
      rules: rulesFile({ settings: { targetDownFor: '5s', consumerLagFor: '5s', window: '10s' } }),
      alertmanagers: [alertmanager.url],
    });
  });

  after(async function () {
    await stack.stop();
    await alertmanager.stop();
    await new Promise((resolve) => webhook.close(resolve));
    await rm(dataDir, { recursive: true, force: true });
  });

  /** The first notification for `alert` about `labels` in `status`. */
  const notified = (alert: string, status: 'firing' | 'resolved', labels: Record<string, string>) =>
    eventually(
      `${alert} ${status} at the webhook`,
      () =>
        Promise.resolve(
          received
            .flatMap((n) => n.alerts)
            .find(
              (a) =>
                a.status === status &&
                a.labels.alertname === alert &&
                Object.entries(labels).every(([k, v]) => a.labels[k] === v),
            ),
        ),
      120_000,
    );

  it('stopping payments fires the consumer alert and target-down at Alertmanager; starting it again resolves both', async () => {
    const { gatewayUrl } = stack;
    assert.ok(gatewayUrl);
    const loadgenPort = await freePort();
    const unregister = await registerScrapeTarget(dataDir, 'loadgen', loadgenPort);
    const load = runNodeScript(
      join(repoRoot(), 'scripts', 'src', 'load.ts'),
      { HOME: process.env.HOME ?? '' },
      ['--gateway', gatewayUrl, '--port', String(loadgenPort), '--rps', '4', '--duration', '45s'],
    );
    try {
      // Nothing fires while all is well.
      const prometheus = stack.prometheus;
      assert.ok(prometheus);
      await eventually('the rules loaded and evaluated', async () => {
        const [sample] = await prometheus.query('count(slo:gateway_latency_errors:ratio_rate5m)');
        return sample;
      });
      assert.deepEqual(
        (await prometheus.alerts())
          .filter((a) => a.state === 'firing')
          .map((a) => a.labels.alertname),
        [],
      );

      const payments = stack.control('payments');
      await payments.kill('SIGTERM');
      const stalled = await notified('EmporiumConsumerStalled', 'firing', {
        messaging_consumer_group_name: 'payments',
        messaging_destination_name: 'orders.v1',
      });
      assert.equal(stalled.labels.severity, 'critical');
      await notified('EmporiumTargetDown', 'firing', { job: 'payments' });

      await payments.start();
      await notified('EmporiumConsumerStalled', 'resolved', {
        messaging_consumer_group_name: 'payments',
      });
      await notified('EmporiumTargetDown', 'resolved', { job: 'payments' });
    } finally {
      await unregister();
      await load;
    }
  });
});
