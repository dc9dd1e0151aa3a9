import type { Telemetry } from './sdk.js';

let current: Telemetry | undefined;

/** Records the process's telemetry (the preload does) so shutdown can flush it. */
export function setTelemetry(telemetry: Telemetry): void {
  current = telemetry;
}

/** The telemetry the preload started, or a no-op when the process runs without it. */
export function getTelemetry(): Telemetry {
  return (
    current ?? {
      enabled: false,
      flush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    }
  );
}
