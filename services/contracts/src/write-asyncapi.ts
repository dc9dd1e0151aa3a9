// Regenerates asyncapi.json beside package.json from the contracts (`npm run asyncapi -w
// services/contracts`); a test fails while the committed file is out of date.
import { writeFileSync } from 'node:fs';
import { buildAsyncApiDocument } from './asyncapi.js';
import { ASYNCAPI_FILE, CONTRACTS_VERSION } from './index.js';

writeFileSync(
  ASYNCAPI_FILE,
  `${JSON.stringify(buildAsyncApiDocument(CONTRACTS_VERSION), null, 2)}\n`,
);
process.stdout.write(`wrote ${ASYNCAPI_FILE}\n`);
