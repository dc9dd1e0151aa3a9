import type { Response } from 'express';
import { z } from 'zod';
import { AppError, PlatformErrorCode, errors, toProblem } from '../errors.js';

/** The RFC 9457 media type of every error response. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** The code of a 405; not in PlatformErrorCode because only the router produces it. */
export const METHOD_NOT_ALLOWED = 'METHOD_NOT_ALLOWED';

/**
 * The problem document as a zod schema, for the OpenAPI document. Loose, because services add
 * their own extension members (e.g. `skus`) beside the standard ones.
 */
export const ProblemSchema = z
  .looseObject({
    type: z.string().meta({ description: 'A URN naming the kind of problem.' }),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string(),
    code: z.string().meta({ description: 'Stable, SCREAMING_SNAKE code clients can branch on.' }),
    instance: z.string().optional(),
    errors: z
      .array(
        z.object({
          path: z.string().meta({ example: 'body.lines[0].sku' }),
          message: z.string(),
        }),
      )
      .optional()
      .meta({ description: 'On VALIDATION_FAILED: every field that failed, by path.' }),
  })
  .meta({ id: 'Problem', description: 'An RFC 9457 problem document.' });

/** Writes an AppError as `application/problem+json`, with its headers (e.g. Retry-After). */
export function sendProblem(res: Response, error: AppError, instance?: string): void {
  res
    .status(error.status)
    .set(error.headers)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(toProblem(error, instance)));
}

/** The fields of the errors thrown by body-parser / raw-body / the router (http-errors). */
interface HttpErrorLike {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
}

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode } = error as HttpErrorLike;
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && value >= 400 && value <= 599 ? value : undefined;
}

/**
 * Turns anything thrown into the AppError to show the client. An AppError stands; the 4xx
 * errors of body-parser and the router map to platform codes with fixed wording (their own
 * messages are safe but inconsistent); everything else is a 500 whose message never leaves.
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const status = httpStatusOf(error);
  const type = (error as HttpErrorLike | undefined)?.type;
  if (status === 413) {
    return new AppError(
      PlatformErrorCode.PAYLOAD_TOO_LARGE,
      413,
      'The request body is larger than this endpoint accepts.',
      { cause: error },
    );
  }
  if (status === 415) {
    return new AppError(
      PlatformErrorCode.UNSUPPORTED_MEDIA_TYPE,
      415,
      'The request body uses an unsupported charset or content encoding.',
      { cause: error },
    );
  }
  if (type === 'entity.parse.failed')
    return errors.malformed('The request body is not valid JSON.');
  if (status === 404) return errors.notFound();
  if (status !== undefined && status < 500) {
    // e.g. an aborted body, a size mismatch or an undecodable path parameter.
    return new AppError(PlatformErrorCode.MALFORMED_REQUEST, 400, 'The request is malformed.', {
      cause: error,
    });
  }
  return errors.internal(error);
}
