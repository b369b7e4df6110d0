import type { Session } from '@protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  endSession,
  freshAccessToken,
  refreshSession,
  renewalDelay,
  resumeSession,
  signOut,
  startSession,
  useSession,
} from './session';

// A cookie session: the refresh token travels as an HttpOnly cookie, never in the body.
function session(access: string, expiresIn = 900): Session {
  return {
    user: {
      id: '0193a6c1-0000-7000-8000-000000000077',
      username: 'ada',
      email: 'ada@example.com',
      show_presence: true,
      send_read_receipts: true,
    email_verified: true,
      display_name: null,
      avatar_url: null,
      bio: null,
      created_at: '2026-11-21T06:00:00.000Z',
    },
    access_token: access,
    token_type: 'Bearer',
    expires_in: expiresIn,
  };
}

const fetchMock = vi.fn<typeof fetch>();

beforeEach(() => {
  vi.useFakeTimers();
  vi.stubGlobal('fetch', fetchMock);
  fetchMock.mockReset();
});

afterEach(() => {
  endSession();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('the session', () => {
  it('renews at 80 % of the token life, a minute early at the latest', () => {
    expect(renewalDelay(900_000)).toBe(720_000);
    expect(renewalDelay(120_000)).toBe(60_000);
    expect(renewalDelay(10_000)).toBe(1_000);
  });

  it('renews once for many callers: a refresh token works only once', async () => {
    startSession(session('a1'));
    fetchMock.mockResolvedValue(
      new Response(JSON.stringify(session('a2')), { status: 200 }),
    );
    const results = await Promise.all([refreshSession(), refreshSession(), refreshSession()]);
    expect(results).toEqual([true, true, true]);
    expect(fetchMock).toHaveBeenCalledOnce();
    // The cookie carries the refresh token; the body is empty.
    expect(JSON.parse(String(fetchMock.mock.calls[0]![1]?.body))).toEqual({});
    expect(fetchMock.mock.calls[0]![1]?.credentials).toBe('same-origin');
    await expect(freshAccessToken()).resolves.toBe('a2');
  });

  it('renews by itself before the token expires', async () => {
    startSession(session('a1', 900));
    fetchMock.mockResolvedValue(new Response(JSON.stringify(session('a2')), { status: 200 }));
    await vi.advanceTimersByTimeAsync(720_000);
    expect(fetchMock).toHaveBeenCalledOnce();
    await expect(freshAccessToken()).resolves.toBe('a2');
  });

  it('signs out with a notice when the refresh token is refused', async () => {
    startSession(session('a1'));
    fetchMock.mockResolvedValue(
      new Response(JSON.stringify({ error: { code: 'refresh_token_reused', message: 'reused' } }), {
        status: 401,
      }),
    );
    await expect(refreshSession()).resolves.toBe(false);
    expect(useSession.getState()).toMatchObject({ status: 'signed_out', me: null });
    expect(useSession.getState().notice).toMatch(/sign in again/);
  });

  it('resumes silently on opening the page when the cookie still holds a session', async () => {
    fetchMock.mockResolvedValue(new Response(JSON.stringify(session('a1')), { status: 200 }));
    await resumeSession();
    expect(useSession.getState()).toMatchObject({ status: 'signed_in', notice: null });
    await expect(freshAccessToken()).resolves.toBe('a1');
  });

  it('shows the sign-in screen without a notice when there is no session to resume', async () => {
    fetchMock.mockResolvedValue(
      new Response(JSON.stringify({ error: { code: 'invalid_refresh_token', message: 'none' } }), {
        status: 401,
      }),
    );
    await resumeSession();
    expect(useSession.getState()).toMatchObject({ status: 'signed_out', notice: null });
  });

  it('says so when the server cannot be reached on opening the page', async () => {
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'));
    await resumeSession();
    expect(useSession.getState().status).toBe('signed_out');
    expect(useSession.getState().notice).toMatch(/cannot be reached/);
  });

  it('logs out on this device or on all devices', async () => {
    for (const [everywhere, path] of [
      [false, '/api/auth/logout'],
      [true, '/api/auth/logout/all'],
    ] as const) {
      startSession(session('a1'));
      fetchMock.mockReset();
      fetchMock.mockResolvedValue(new Response(null, { status: 204 }));
      await signOut(everywhere);
      expect(String(fetchMock.mock.calls[0]![0])).toBe(path);
      expect(useSession.getState().status).toBe('signed_out');
    }
  });
});
