import { Validator } from '@seriousme/openapi-schema-validator';

/**
 * Validates a document against the official OpenAPI JSON Schema of its version (3.1 for
 * Emporium's services); throws listing the first problems when it is not valid.
 */
export async function assertValidOpenApi(document: unknown): Promise<void> {
  const validator = new Validator();
  const result = await validator.validate(document as Parameters<Validator['validate']>[0]);
  if (!result.valid) {
    const details = JSON.stringify(result.errors, null, 2).slice(0, 2000);
    throw new Error(`invalid OpenAPI document:\n${details}`);
  }
  if (validator.version !== '3.1') {
    throw new Error(`expected an OpenAPI 3.1 document, got ${validator.version}`);
  }
}
