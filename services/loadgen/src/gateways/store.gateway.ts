import type { StepRequest } from '../domain/journey.js';

/** The gateway's answer to one request; `status` 0 when there was none. */
export interface StoreAnswer {
  status: number;
  /** The parsed JSON body (problem documents included); undefined for none or non-JSON. */
  body: unknown;
  /** A problem document's `code`, e.g. `OUT_OF_STOCK`. */
  code?: string;
  /** Why there was no answer: `timeout` or the connection error's code/message. */
  failure?: string;
}

/** The store as a shopper reaches it: the gateway's API and its token issuer. */
export interface StoreGateway {
  /** Sends one journey step, with the bearer token when given. */
  send(request: StepRequest, token?: string): Promise<StoreAnswer>;
  /** Asks the issuer for a token for `user` (`POST {tokenUrl} {"user": ...}`). */
  token(user: string): Promise<StoreAnswer>;
}

/** Options of {@link storeGateway}. */
export interface StoreGatewayOptions {
  /** The gateway's base URL, e.g. `http://gateway:8080`. */
  baseUrl: string;
  /** The token endpoint, e.g. `http://gateway:8080/dev/token`. */
  tokenUrl: string;
  /** Per-request deadline, body included, in ms. */
  timeoutMs: number;
  /** Defaults to the global fetch; tests may pass another. */
  fetch?: typeof fetch;
}

/** The `code` member of a problem document, if the body is one. */
function problemCode(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('code' in body)) return undefined;
  return typeof body.code === 'string' ? body.code : undefined;
}

/** Why a fetch failed, in a word: `timeout`, else the socket error's code (ECONNREFUSED...). */
function failureOf(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return 'timeout';
  }
  const cause: unknown = error instanceof Error ? error.cause : undefined;
  if (typeof cause === 'object' && cause !== null && 'code' in cause) {
    return typeof cause.code === 'string' ? cause.code : 'network';
  }
  return error instanceof Error ? error.message : 'network';
}

/**
 * A fetch-based client of the gateway. No retries: a load generator that retried would hide
 * the very failures it is there to count. Every body is read (or discarded) so the keep-alive
 * connection goes back to the pool.
 */
export function storeGateway(options: StoreGatewayOptions): StoreGateway {
  const doFetch = options.fetch ?? globalThis.fetch;
  const base = options.baseUrl.replace(/\/+$/, '');

  const call = async (
    url: string,
    method: string,
    body: unknown,
    token: string | undefined,
  ): Promise<StoreAnswer> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    try {
      const response = await doFetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      const text = await response.text();
      let parsed: unknown;
      const type = response.headers.get('content-type') ?? '';
      if (text.length > 0 && /[/+]json\b/.test(type)) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
      }
      const code = response.ok ? undefined : problemCode(parsed);
      return { status: response.status, body: parsed, ...(code === undefined ? {} : { code }) };
    } catch (error) {
      return { status: 0, body: undefined, failure: failureOf(error) };
    }
  };

  return {
    send: (request, token) =>
      call(
        `${base}${request.path}`,
        request.method,
        request.body,
        request.auth ? token : undefined,
      ),
    token: (user) => call(options.tokenUrl, 'POST', { user }, undefined),
  };
}
