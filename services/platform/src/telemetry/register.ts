/**
 * The telemetry preload: `node --import @emporium/platform/telemetry/register dist/main.js`.
 * It must run before the service imports http, express, ioredis or mongodb, so that the
 * instrumentations can patch them; under ESM that takes the import-in-the-middle loader hook,
 * registered here before the SDK starts.
 */
import { register } from 'node:module';
import { telemetryOptionsFromEnv } from './config.js';
import { setTelemetry } from './handle.js';
import { startTelemetry } from './sdk.js';

const options = telemetryOptionsFromEnv(process.env);
if (options.enabled) {
  // OpenTelemetry ships its ESM hook as an async loader for module.register(); Node's newer
  // synchronous registerHooks() cannot load it.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
}
setTelemetry(startTelemetry(options));
