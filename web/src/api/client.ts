// The REST client: JSON under /api on the page's own origin, the bearer access token from
// the session, and every refusal parsed from its `ErrorBody` into an `ApiError`.

import type { ErrorBody, ErrorCode } from '@protocol';

/** A refusal from the API (or no answer at all: `status` 0, code `unavailable`). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  /** Which input fields are wrong and why, keyed by the field names of the request body. */
  readonly fields: Readonly<Record<string, string>>;
  readonly retryAfterMs: number | null;

  constructor(status: number, body: ErrorBody) {
    super(body.error.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.error.code;
    this.fields = body.error.fields ?? {};
    this.retryAfterMs = body.error.retry_after_ms ?? null;
  }
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = (value as { error: unknown }).error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

/** A body that is not an `ErrorBody` (a proxy's HTML page, say), named by its status. */
function fallbackError(status: number): ErrorBody {
  const code: ErrorCode =
    status === 429 ? 'rate_limited' : status >= 500 || status === 0 ? 'unavailable' : 'internal';
  const message =
    status === 0 ? 'The server cannot be reached.' : `The server answered ${status}.`;
  return { error: { code, message } };
}

/** How the client gets and renews the access token; the session provides it. */
export interface TokenSource {
  /** A token valid for a while yet, or null when signed out. */
  accessToken(): Promise<string | null>;
  /** Gets a new access token; false when the session is over. */
  refresh(): Promise<boolean>;
}

let tokens: TokenSource | null = null;

export function configureTokens(source: TokenSource): void {
  tokens = source;
}

export type Query = Record<string, string | number | undefined | null>;

export interface RequestOptions {
  body?: unknown;
  /** Sent as it is (a file), with its own type, instead of a JSON `body`. */
  raw?: Blob;
  query?: Query;
  /** Sends the access token (default). Sign-in and refresh do without. */
  auth?: boolean;
  signal?: AbortSignal;
}

export function apiPath(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const search = params.toString();
  return `/api${path}${search ? `?${search}` : ''}`;
}

async function send(
  method: string,
  path: string,
  options: RequestOptions,
  token: string | null,
): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.raw !== undefined) headers['content-type'] = options.raw.type || 'application/octet-stream';
  if (token) headers.authorization = `Bearer ${token}`;
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (options.body !== undefined) init.body = JSON.stringify(options.body);
  if (options.raw !== undefined) init.body = options.raw;
  if (options.signal) init.signal = options.signal;
  try {
    return await fetch(apiPath(path, options.query), init);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, fallbackError(0));
  }
}

async function readError(response: Response): Promise<ApiError> {
  const body: unknown = await response.json().catch(() => null);
  return new ApiError(response.status, isErrorBody(body) ? body : fallbackError(response.status));
}

/**
 * One API call. An access token refused as expired or invalid is refreshed once and the
 * call repeated; a second refusal is the caller's (the session signs out on it).
 */
export async function request<T>(
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  const response = await authorized(method, path, options);
  // 204, and 202 (accepted, nothing to say), come without a body.
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The bytes at `url` (a path under /api, such as a file's `url`), fetched with the token. */
export async function requestBlob(url: string, signal?: AbortSignal): Promise<Blob> {
  const path = url.startsWith('/api/') ? url.slice('/api'.length) : url;
  const response = await authorized('GET', path, signal ? { signal } : {});
  return response.blob();
}

/** A call answered with success, the access token refreshed once on the way if needed. */
async function authorized(
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  path: string,
  options: RequestOptions,
): Promise<Response> {
  const auth = options.auth ?? true;
  let token = auth && tokens ? await tokens.accessToken() : null;
  let response = await send(method, path, options, token);
  if (response.status === 401 && auth && tokens) {
    const error = await readError(response);
    if (error.code !== 'token_expired' && error.code !== 'invalid_token') throw error;
    if (!(await tokens.refresh())) throw error;
    token = await tokens.accessToken();
    response = await send(method, path, options, token);
  }
  if (!response.ok) throw await readError(response);
  return response;
}
