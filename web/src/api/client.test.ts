import type { ErrorBody } from '@protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, apiPath, configureTokens, request } from './client';

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

const fetchMock = vi.fn<typeof fetch>();

beforeEach(() => {
  vi.stubGlobal('fetch', fetchMock);
  fetchMock.mockReset();
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the REST client', () => {
  it('sends JSON with the bearer token under /api', async () => {
    configureTokens({ accessToken: async () => 'tok', refresh: async () => false });
    fetchMock.mockResolvedValueOnce(json(201, { id: 'r1' }));
    await expect(request('POST', '/rooms', { body: { name: 'general', kind: 'public' } })).resolves.toEqual({
      id: 'r1',
    });
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe('/api/rooms');
    expect(init?.headers).toMatchObject({
      authorization: 'Bearer tok',
      'content-type': 'application/json',
    });
    expect(init?.body).toBe('{"name":"general","kind":"public"}');
  });

  it('reads a refusal into an ApiError with its fields', async () => {
    configureTokens({ accessToken: async () => 'tok', refresh: async () => false });
    const body: ErrorBody = {
      error: {
        code: 'validation_failed',
        message: 'invalid input',
        fields: { username: 'must be 3 to 32 characters' },
      },
    };
    fetchMock.mockResolvedValueOnce(json(422, body));
    const error = await request('POST', '/auth/register', { auth: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 422,
      code: 'validation_failed',
      fields: { username: 'must be 3 to 32 characters' },
    });
  });

  it('names a body that is not an ErrorBody by its status', async () => {
    fetchMock.mockResolvedValueOnce(new Response('<html>Bad gateway</html>', { status: 502 }));
    await expect(request('GET', '/rooms/mine', { auth: false })).rejects.toMatchObject({
      status: 502,
      code: 'unavailable',
    });
  });

  it('reports no answer at all as unavailable', async () => {
    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch'));
    await expect(request('GET', '/rooms/mine', { auth: false })).rejects.toMatchObject({
      status: 0,
      code: 'unavailable',
    });
  });

  it('renews an expired token once and repeats the call', async () => {
    let token = 'old';
    const refresh = vi.fn(async () => {
      token = 'new';
      return true;
    });
    configureTokens({ accessToken: async () => token, refresh });
    fetchMock
      .mockResolvedValueOnce(json(401, { error: { code: 'token_expired', message: 'expired' } }))
      .mockResolvedValueOnce(json(200, { ok: true }));
    await expect(request('GET', '/auth/me')).resolves.toEqual({ ok: true });
    expect(refresh).toHaveBeenCalledOnce();
    expect(fetchMock.mock.calls[1]![1]?.headers).toMatchObject({ authorization: 'Bearer new' });
  });

  it('does not renew for other refusals', async () => {
    const refresh = vi.fn(async () => true);
    configureTokens({ accessToken: async () => 'tok', refresh });
    fetchMock.mockResolvedValueOnce(json(401, { error: { code: 'invalid_credentials', message: 'no' } }));
    await expect(request('GET', '/auth/me')).rejects.toMatchObject({ code: 'invalid_credentials' });
    expect(refresh).not.toHaveBeenCalled();
  });

  it('leaves empty query values out', () => {
    expect(apiPath('/rooms', { search: '', cursor: null, limit: 50 })).toBe('/api/rooms?limit=50');
    expect(apiPath('/users', { search: 'a&b' })).toBe('/api/users?search=a%26b');
  });
});
