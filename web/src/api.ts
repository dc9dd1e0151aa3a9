import type { Context } from '@opentelemetry/api';
import { within } from './tracing.js';

/** catalog's product, as the gateway answers it. */
export interface Product {
  id: string;
  sku: string;
  name: string;
  description: string;
  priceMinor: number;
  currency: string;
  categories: string[];
}
export interface ProductPage {
  items: Product[];
  total: number;
  limit: number;
  offset: number;
}
export interface ProductView {
  product: Product;
  stock: { available: number } | null;
}
export interface CartLine {
  sku: string;
  name: string;
  quantity: number;
  unitPriceMinor: number;
}
export interface Cart {
  lines: CartLine[];
  currency: string;
  totalMinor: number;
}
export type OrderStatus = 'PENDING' | 'PAID' | 'SHIPPED' | 'CANCELLED';
export interface Order {
  orderId: string;
  status: OrderStatus;
  lines: CartLine[];
  totalMinor: number;
  currency: string;
  createdAt: string;
  history: { status: string; at: string; reason?: string }[];
  trackingId?: string;
  cancelReason?: string;
}
export interface Notification {
  notificationId: string;
  orderId: string;
  eventType: string;
  message: string;
  createdAt?: string;
}

/** An RFC 9457 problem document, as the gateway and the services send them. */
interface Problem {
  title?: string;
  detail?: string;
  code?: string;
  status?: number;
  errors?: { path: string; message: string }[];
}

/** A call that failed, with the words to show the shopper. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    /** The HTTP status; 0 when the store could not be reached at all. */
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** Words for the shopper, from a problem's stable code (the gateway's and the services'). */
function describe(problem: Problem, status: number, retryAfter: string | null): string {
  switch (problem.code) {
    case 'RATE_LIMITED':
      return `Too many requests right now. Please wait ${retryAfter === '1' ? '1 second' : `${retryAfter ?? 'a few'} seconds`} and try again.`;
    case 'TOKEN_REQUIRED':
    case 'INVALID_TOKEN':
      return 'Your session has ended. Please sign in again.';
    case 'CART_EMPTY':
      return 'Your cart is empty: add a product before checking out.';
    case 'OUT_OF_STOCK':
    case 'INSUFFICIENT_STOCK':
      return 'Some of these products are no longer in stock in that quantity.';
    case 'VALIDATION_FAILED':
      return `Please check what you entered: ${(problem.errors ?? []).map((e) => e.message).join('; ') || 'it was not accepted'}.`;
    default:
      break;
  }
  if (status === 404) return problem.detail ?? 'Not found.';
  if (status === 503 || status === 502 || status === 504) {
    return `The store is having trouble right now (${problem.detail ?? 'unavailable'}). Please try again${retryAfter ? ` in ${retryAfter} seconds` : ''}.`;
  }
  return problem.detail ?? problem.title ?? `The request failed (HTTP ${String(status)}).`;
}

/** The bearer token of the signed-in shopper, set by the auth module. */
let bearer: (() => string | undefined) | undefined;
/** Called when the gateway refuses the token, so the app can ask to sign in again. */
let onUnauthorized: (() => void) | undefined;

export function setTokenSource(source: () => string | undefined, expired: () => void): void {
  bearer = source;
  onUnauthorized = expired;
}

interface CallOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** The span of the click this call belongs to. */
  parent?: Context | undefined;
  signal?: AbortSignal;
}

/** Calls the gateway; resolves with the JSON answer, or rejects with an {@link ApiError}. */
export async function api<T>(path: string, options: CallOptions = {}): Promise<T> {
  const token = bearer?.();
  const headers: Record<string, string> = {
    accept: 'application/json, application/problem+json',
    ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...options.headers,
  };
  let response: Response;
  try {
    response = await within(options.parent, () =>
      fetch(path, {
        method: options.method ?? 'GET',
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    );
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(
      'Cannot reach the store. Check your connection and try again.',
      0,
      'NETWORK',
    );
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const problem = (body ?? {}) as Problem;
    if (response.status === 401) onUnauthorized?.();
    throw new ApiError(
      describe(problem, response.status, response.headers.get('retry-after')),
      response.status,
      problem.code,
    );
  }
  return body as T;
}

/** Amounts are in minor units: 1250 EUR → €12.50. */
export function money(minor: number, currency: string): string {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).format(minor / 100);
}
