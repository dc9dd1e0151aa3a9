import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@emporium/harness';
import { z } from 'zod';
import { runTool } from './command.js';

/** What one open-loop vegeta run measured; latencies in ms. */
export interface VegetaResult {
  readonly requests: number;
  /** Requests sent per second (the rate vegeta kept). */
  readonly rate: number;
  /** Successful responses per second. */
  readonly throughput: number;
  /** Fraction of responses that were 2xx/3xx. */
  readonly success: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  /** The first few distinct errors vegeta saw. */
  readonly errors: readonly string[];
}

/** One request vegeta sends; it cycles through a list of them in order. */
export interface VegetaTarget {
  readonly method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** Options of {@link runVegeta}. */
export interface VegetaOptions {
  readonly bin: string;
  /** `GET url`, unless `targets` is given. */
  readonly url: string;
  /** Requests other than one GET (methods, headers, bodies, many URLs), sent in turn. */
  readonly targets?: readonly VegetaTarget[];
  /** Requests per second, sent on schedule whether or not earlier ones were answered. */
  readonly rate: number;
  readonly seconds: number;
}

const NS_PER_MS = 1e6;

const report = z.object({
  latencies: z.object({
    '50th': z.number(),
    '90th': z.number(),
    '99th': z.number(),
    max: z.number(),
  }),
  requests: z.number(),
  rate: z.number(),
  throughput: z.number(),
  success: z.number(),
  errors: z.array(z.string()).nullable(),
});

/** Reads `vegeta report -type=json`. */
export function parseVegeta(json: string): VegetaResult {
  const r = report.parse(JSON.parse(json));
  return {
    requests: r.requests,
    rate: r.rate,
    throughput: r.throughput,
    success: r.success,
    p50: r.latencies['50th'] / NS_PER_MS,
    p90: r.latencies['90th'] / NS_PER_MS,
    p99: r.latencies['99th'] / NS_PER_MS,
    max: r.latencies.max / NS_PER_MS,
    errors: (r.errors ?? []).slice(0, 5),
  };
}

/** A target as one line of vegeta's `-format=json` (headers as lists, the body in base64). */
function jsonTarget(target: VegetaTarget): string {
  return JSON.stringify({
    method: target.method,
    url: target.url,
    header: Object.fromEntries(Object.entries(target.headers ?? {}).map(([k, v]) => [k, [v]])),
    ...(target.body === undefined ? {} : { body: Buffer.from(target.body).toString('base64') }),
  });
}

/**
 * Runs vegeta open-loop: requests leave at the fixed rate on their schedule (it adds workers
 * rather than wait for answers), so a slow response cannot hold back the ones behind it and
 * the latencies are free of coordinated omission.
 */
export async function runVegeta(options: VegetaOptions): Promise<VegetaResult> {
  const dir = await tempDir('vegeta');
  try {
    const targets = join(dir, 'targets.txt');
    const results = join(dir, 'results.bin');
    const many = options.targets;
    if (many?.length === 0) throw new RangeError('vegeta needs at least one target');
    // vegeta's JSON target format carries headers and bodies without quoting rules to get wrong.
    await writeFile(
      targets,
      many ? many.map(jsonTarget).join('\n') + '\n' : `GET ${options.url}\n`,
    );
    await runTool('vegeta', options.bin, [
      'attack',
      `-targets=${targets}`,
      ...(many ? ['-format=json'] : []),
      `-rate=${String(options.rate)}/1s`,
      `-duration=${String(options.seconds)}s`,
      // Bodies are not looked at; keeping them would only cost vegeta memory and CPU.
      '-max-body=0',
      '-timeout=10s',
      `-output=${results}`,
    ]);
    const stdout = await runTool('vegeta', options.bin, ['report', '-type=json', results]);
    return parseVegeta(stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
