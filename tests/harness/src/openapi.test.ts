import assert from 'node:assert/strict';
import { assertValidOpenApi } from './openapi.js';

describe('assertValidOpenApi', () => {
  const minimal = {
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: { '/x': { get: { responses: { '200': { description: 'ok' } } } } },
  };

  it('accepts a valid 3.1 document', async () => {
    await assertValidOpenApi(minimal);
  });

  it('rejects an invalid one and a 3.0 one', async () => {
    await assert.rejects(
      assertValidOpenApi({ ...minimal, info: { title: 't' } }),
      /invalid OpenAPI/,
    );
    await assert.rejects(
      assertValidOpenApi({ ...minimal, openapi: '3.0.3' }),
      /expected an OpenAPI 3.1 document/,
    );
  });
});
