import assert from 'node:assert/strict';

/** A service's JSON answer (the caller names the documented shape it expects). */
export interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** Calls a service with JSON, failing the test on a status other than `expect`. */
export async function call<T>(
  url: string,
  init: RequestInit & { expect?: number } = {},
): Promise<Answer<T>> {
  const headers = new Headers(init.headers);
  headers.set('content-type', 'application/json');
  const response = await fetch(url, { ...init, headers });
  const text = await response.text();
  const body = (text ? JSON.parse(text) : undefined) as T;
  if (init.expect !== undefined) {
    assert.equal(response.status, init.expect, `${init.method ?? 'GET'} ${url}: ${text}`);
  }
  return { status: response.status, body, headers: response.headers };
}
