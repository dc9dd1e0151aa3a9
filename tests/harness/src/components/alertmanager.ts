import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, httpOk, startProcess, tempDir, type ManagedProcess } from '../process.js';
import { ensureTool } from '../tools/provision.js';

/** A throwaway Alertmanager on 127.0.0.1 that posts every notification to one webhook. */
export interface AlertmanagerServer {
  /** e.g. `http://127.0.0.1:40123` (API at /api/v2). */
  readonly url: string;
  readonly process: ManagedProcess;
  readonly stop: () => Promise<void>;
}

/** Options of {@link startAlertmanager}. */
export interface AlertmanagerOptions {
  /** The webhook receiver every alert goes to (Alertmanager's webhook_config). */
  webhookUrl: string;
  /** Grouping waits, short in tests (Alertmanager's defaults are 30 s / 5 m). */
  groupWait?: string;
  groupInterval?: string;
  /** How soon a still-firing alert is sent again. */
  repeatInterval?: string;
}

/**
 * Starts Alertmanager (single node: clustering off, so it binds no gossip port) routing every
 * alert to the webhook, and waits until it is ready.
 */
export async function startAlertmanager(options: AlertmanagerOptions): Promise<AlertmanagerServer> {
  const tool = await ensureTool('alertmanager');
  const workDir = await tempDir('alertmanager');
  const port = await freePort();
  const url = `http://127.0.0.1:${String(port)}`;
  const configFile = join(workDir, 'alertmanager.yml');
  // JSON is YAML.
  const config = {
    route: {
      receiver: 'webhook',
      group_by: ['alertname'],
      group_wait: options.groupWait ?? '1s',
      group_interval: options.groupInterval ?? '1s',
      repeat_interval: options.repeatInterval ?? '1h',
    },
    receivers: [
      { name: 'webhook', webhook_configs: [{ url: options.webhookUrl, send_resolved: true }] },
    ],
  };
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const proc = await startProcess({
    name: 'alertmanager',
    command: tool.bin,
    args: [
      `--config.file=${configFile}`,
      `--storage.path=${join(workDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${String(port)}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    workDir,
    ready: () => httpOk(`${url}/-/ready`),
  });
  return { url, process: proc, stop: () => proc.stop() };
}
