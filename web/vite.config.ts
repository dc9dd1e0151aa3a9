import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The storefront is served by the gateway (WEB_ROOT) or from S3 + CloudFront; in `vite dev`
// the API, the dev issuer, the span intake and /config.json go to a gateway on GATEWAY_URL.
const gateway = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  build: {
    target: 'es2022',
    sourcemap: true,
    // The budget is checked by the browser tests (initial JavaScript under 150 kB gzip).
    chunkSizeWarningLimit: 500,
  },
  server: {
    proxy: Object.fromEntries(
      ['/api', '/dev', '/otlp', '/config.json'].map((path) => [path, gateway]),
    ),
  },
});
