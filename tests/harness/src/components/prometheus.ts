import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, httpOk, startProcess, tempDir, type ManagedProcess } from '../process.js';
import { ensureTool } from '../tools/provision.js';

/** One `scrape_configs` entry of prometheus.yml. */
export interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  /** Targets read from JSON files, which Prometheus watches: they may come and go. */
  file_sd_configs?: { files: string[] }[];
  metrics_path?: string;
  scrape_interval?: string;
}

/** One sample of an instant-query vector result. */
export interface PromSample {
  metric: Record<string, string>;
  /** [unix seconds, value as a string], as Prometheus returns it. */
  value: [number, string];
}

/** One alert of /api/v1/alerts. */
export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  value: string;
}

/** A throwaway Prometheus on 127.0.0.1. */
export interface PrometheusServer {
  /** e.g. `http://127.0.0.1:40123` */
  readonly url: string;
  readonly process: ManagedProcess;
  /** Runs an instant query and returns its vector (throws on a query error). */
  query(expr: string): Promise<PromSample[]>;
  /** The alerts its rules hold now (pending or firing), from /api/v1/alerts. */
  alerts(): Promise<PromAlert[]>;
  readonly stop: () => Promise<void>;
}

/** Options for {@link startPrometheus}. */
export interface PrometheusOptions {
  scrapeConfigs: ScrapeConfig[];
  /** How often to scrape, e.g. `1s` in tests; 15 s is Prometheus's default. */
  scrapeInterval?: string;
  /** Extra top-level configuration (e.g. `rule_files`). */
  extra?: Record<string, unknown>;
  /** A fixed port (the local stack's); a free one by default. */
  port?: number;
  /** Rule files (SLO recording rules, alerts), read at start. */
  ruleFiles?: readonly string[];
  /** Alertmanagers to send firing alerts to, e.g. `http://127.0.0.1:9093`. */
  alertmanagers?: readonly string[];
  /** Keep the log in this file (appended to, and kept after stop) instead of the work folder. */
  logFile?: string;
}

interface QueryResponse {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: PromSample[] };
}

/** Starts Prometheus with the given scrape configs and waits until /-/ready answers 200. */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const tool = await ensureTool('prometheus');
  const workDir = await tempDir('prometheus');
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${String(port)}`;
  const configFile = join(workDir, 'prometheus.yml');
  const interval = options.scrapeInterval ?? '15s';
  // JSON is YAML, so the config is written as JSON.
  const alertmanagers = (options.alertmanagers ?? []).map((at) => new URL(at));
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    scrape_configs: options.scrapeConfigs,
    ...(options.ruleFiles ? { rule_files: options.ruleFiles } : {}),
    ...(alertmanagers.length > 0
      ? {
          alerting: {
            alertmanagers: [{ static_configs: [{ targets: alertmanagers.map((u) => u.host) }] }],
          },
        }
      : {}),
    ...options.extra,
  };
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const proc = await startProcess({
    ...(options.logFile ? { logFile: options.logFile } : {}),
    name: 'prometheus',
    command: tool.bin,
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(workDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${String(port)}`,
      '--log.level=warn',
      // Exemplars (the trace ids on histogram samples) are kept only with this feature, as
      // kube-prometheus-stack's `enableFeatures: [exemplar-storage]` does on a cluster.
      '--enable-feature=exemplar-storage',
    ],
    workDir,
    ready: () => httpOk(`${url}/-/ready`),
  });
  const query = async (expr: string): Promise<PromSample[]> => {
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as QueryResponse;
    if (body.status !== 'success' || !body.data) {
      throw new Error(`query ${expr} failed: ${body.error ?? String(response.status)}`);
    }
    return body.data.result;
  };
  const alerts = async (): Promise<PromAlert[]> => {
    const response = await fetch(`${url}/api/v1/alerts`);
    const body = (await response.json()) as { data?: { alerts?: PromAlert[] } };
    return body.data?.alerts ?? [];
  };
  return { url, process: proc, query, alerts, stop: () => proc.stop() };
}
