import { runTool } from './command.js';

/** What one closed-loop wrk run measured. */
export interface WrkResult {
  /** Responses per second over the run (wrk's Requests/sec). */
  readonly requestsPerSecond: number;
  readonly requests: number;
  /** Responses that were not 2xx or 3xx. */
  readonly non2xx: number;
  /** Connect, read, write errors and timeouts, summed. */
  readonly socketErrors: number;
}

/** Options of {@link runWrk}. */
export interface WrkOptions {
  readonly bin: string;
  readonly url: string;
  readonly seconds: number;
  /** Open connections, each sending its next request as soon as the last one is answered. */
  readonly connections: number;
  readonly threads?: number;
}

/** Reads wrk's text report; throws when it has no Requests/sec line (wrk failed to run). */
export function parseWrk(output: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output)?.[1];
  const total = /(\d+) requests in/.exec(output)?.[1];
  if (rps === undefined || total === undefined) {
    throw new Error(`wrk printed no result:\n${output}`);
  }
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? '0';
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
    output,
  );
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return {
    requestsPerSecond: Number(rps),
    requests: Number(total),
    non2xx: Number(non2xx),
    socketErrors,
  };
}

/**
 * Runs wrk closed-loop against one URL. One thread by default: on a 2-core machine every
 * cycle wrk spends is one the server under test does not get, and one thread drives a Node
 * server to saturation with room to spare.
 */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const stdout = await runTool('wrk', options.bin, [
    `-t${String(options.threads ?? 1)}`,
    `-c${String(options.connections)}`,
    `-d${String(options.seconds)}s`,
    '--timeout',
    '5s',
    options.url,
  ]);
  return parseWrk(stdout);
}
