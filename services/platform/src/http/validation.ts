import { z } from 'zod';
import { errors, type AppError, type FieldError } from '../errors.js';

/** Where a validated value came from; the first segment of every field path. */
export type RequestPart = 'params' | 'query' | 'body';

/** The field errors of a zod failure, with paths like `body.lines[0].sku`. */
export function fieldErrors(part: RequestPart, issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.map((issue) => ({
    // toDotPath brackets indices and non-identifier keys: `lines[0]`, `["x-y"]`.
    path: issue.path.length === 0 ? part : joinPath(part, z.core.toDotPath(issue.path)),
    message: issue.message,
  }));
}

function joinPath(part: RequestPart, rest: string): string {
  return rest.startsWith('[') ? `${part}${rest}` : `${part}.${rest}`;
}

/** The outcome of validating one request: typed values, or one 400 listing every field. */
export type ValidationResult<P, Q, B> =
  { success: true; params: P; query: Q; body: B } | { success: false; error: AppError };

/** The schemas a route validates its request with; a missing one lets the value through. */
export interface RequestSchemas {
  params?: z.ZodType | undefined;
  query?: z.ZodType | undefined;
  body?: z.ZodType | undefined;
}

/**
 * Validates params, query and body together so a client sees every bad field at once, not
 * one part per round trip.
 */
export async function validateRequest<P, Q, B>(
  schemas: RequestSchemas,
  input: { params: unknown; query: unknown; body: unknown },
): Promise<ValidationResult<P, Q, B>> {
  const all: FieldError[] = [];
  const parse = async (part: RequestPart): Promise<unknown> => {
    const schema = schemas[part];
    if (schema === undefined) return input[part];
    // safeParseAsync so schemas with async refinements work too.
    const result = await schema.safeParseAsync(input[part]);
    if (result.success) return result.data;
    all.push(...fieldErrors(part, result.error.issues));
    return undefined;
  };
  const params = await parse('params');
  const query = await parse('query');
  const body = await parse('body');
  if (all.length > 0) return { success: false, error: errors.validation(all) };
  // The schemas' output types are the caller's P, Q and B (see route-registry.ts).
  return { success: true, params: params as P, query: query as Q, body: body as B };
}
