/**
 * The telemetry preload: `node --import @emporium/platform/telemetry/register dist/main.js`.
 * It must run before the service imports http, express, ioredis or mongodb, so that the
 * instrumentations can patch them; under ESM that takes the import-in-the-middle loader hook,
 * registered here before the SDK starts.
 */
import { register } from 'node:module';
import {
  register as registerInThread,
  supportsSyncHooks,
} from 'import-in-the-middle/register-hooks.mjs';
import { INSTRUMENTED_MODULES } from './sdk.js';
import { telemetryOptionsFromEnv } from './config.js';
import { setTelemetry } from './handle.js';
import { startTelemetry } from './sdk.js';

const options = telemetryOptionsFromEnv(process.env);
if (options.enabled) {
  // Only the modules the instrumentations patch are wrapped: wrapping every module of the app
  // cost about 170 MiB of RSS per process (measured on catalog, 385 against 215 MiB). Where
  // Node can (24.11.1 and later), in-thread, which spares the loader thread too.
  const include = [...INSTRUMENTED_MODULES];
  if (supportsSyncHooks()) {
    registerInThread({ include });
  } else {
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include } });
  }
}
setTelemetry(startTelemetry(options));
