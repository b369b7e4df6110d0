// The signed-in session: the access token (in memory only, never in storage), its renewal
// before it expires, and signing out. Components read `useSession`; the REST client and
// the live connection get tokens from here.

import type { Me, Session } from '@protocol';
import { create } from 'zustand';
import * as auth from './auth';
import { ApiError, configureTokens } from './client';

export interface SessionView {
  /** `resuming`: a page just opened, asking whether its cookie still holds a session. */
  status: 'resuming' | 'signed_out' | 'signed_in';
  me: Me | null;
  /** Why the user was signed out, to show on the sign-in screen. */
  notice: string | null;
}

export const useSession = create<SessionView>(() => ({
  status: 'resuming',
  me: null,
  notice: null,
}));

/** Renew this long before the access token expires at the latest. */
const RENEW_MARGIN_MS = 60_000;
/** A token with less time than this left is renewed before it is used. */
const MIN_VALIDITY_MS = 15_000;
/** After a failed renewal that did not end the session (no network), try again after this. */
const RENEW_RETRY_MS = 10_000;

let accessToken: string | null = null;
let expiresAt = 0;
let renewTimer: ReturnType<typeof setTimeout> | null = null;
let renewing: Promise<boolean> | null = null;
const tokenListeners = new Set<(token: string) => void>();

/**
 * The refresh token never reaches this code: the server keeps it in an HttpOnly,
 * SameSite=Strict cookie scoped to /api/auth (`refresh_cookie` at sign-in), and
 * `POST /api/auth/refresh` with `{}` spends it. One refresh at a time across every tab of
 * this origin (Web Locks): two tabs spending the same cookie at once would look like a
 * stolen token and end the session.
 */
function withRefreshLock<T>(work: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  return locks ? locks.request('chat-refresh', work) : work();
}

function clearTokens(): void {
  accessToken = null;
  expiresAt = 0;
  if (renewTimer) clearTimeout(renewTimer);
  renewTimer = null;
}

function scheduleRenewal(inMs: number): void {
  if (renewTimer) clearTimeout(renewTimer);
  renewTimer = setTimeout(() => void refreshSession(), Math.max(1_000, inMs));
}

/** When to renew a token that lives `lifetimeMs`: at 80 % of its life, a minute early at the latest. */
export function renewalDelay(lifetimeMs: number): number {
  return Math.max(1_000, Math.min(lifetimeMs * 0.8, lifetimeMs - RENEW_MARGIN_MS));
}

function adopt(session: Session): void {
  accessToken = session.access_token;
  expiresAt = Date.now() + session.expires_in * 1000;
  scheduleRenewal(renewalDelay(session.expires_in * 1000));
  for (const listener of tokenListeners) listener(session.access_token);
}

/** Signs in with what register, login or refresh returned. */
export function startSession(session: Session): void {
  adopt(session);
  useSession.setState({ status: 'signed_in', me: session.user, notice: null });
}

/**
 * Renews the access token with the refresh token. One renewal at a time: a refresh token
 * works once, and presenting a used one revokes the whole session.
 */
export function refreshSession(): Promise<boolean> {
  renewing ??= (async () => {
    if (useSession.getState().status !== 'signed_in') return false;
    try {
      const session = await withRefreshLock(() => auth.refresh({}));
      adopt(session);
      useSession.setState({ me: session.user });
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status !== 0 && error.status < 500) {
        endSession('Your session has ended. Please sign in again.');
        return false;
      }
      // No answer: keep the token while it lasts, try again soon.
      scheduleRenewal(RENEW_RETRY_MS);
      return false;
    }
  })().finally(() => {
    renewing = null;
  });
  return renewing;
}

/**
 * On opening the page: signs in silently when the browser still holds a session cookie,
 * else shows the sign-in screen (with a notice when the server could not be asked).
 */
export async function resumeSession(): Promise<void> {
  try {
    const session = await withRefreshLock(() => auth.refresh({}));
    startSession(session);
  } catch (error) {
    const unreachable = !(error instanceof ApiError) || error.status === 0 || error.status >= 500;
    endSession(unreachable ? 'The server cannot be reached right now. Please try again.' : null);
  }
}

/** An access token good for a while yet (renewed first when close to expiry), or null. */
export async function freshAccessToken(): Promise<string | null> {
  if (accessToken !== null && expiresAt - Date.now() < MIN_VALIDITY_MS) {
    await refreshSession();
  }
  return accessToken;
}

/** Calls `listener` with every new access token (the live connection renews its socket). */
export function onAccessToken(listener: (token: string) => void): () => void {
  tokenListeners.add(listener);
  return () => tokenListeners.delete(listener);
}

/** Forgets the session locally, with a reason for the sign-in screen. */
export function endSession(notice: string | null = null): void {
  clearTokens();
  useSession.setState({ status: 'signed_out', me: null, notice });
}

/**
 * Signs out: ends this session on the server (its refresh token stops working and its
 * cookie is cleared), or with `everywhere` every session of the account, then here.
 */
export async function signOut(everywhere = false): Promise<void> {
  try {
    if (await freshAccessToken()) await (everywhere ? auth.logoutEverywhere() : auth.logout());
  } catch {
    // Signed out here whatever the server said; the access token expires on its own.
  } finally {
    endSession();
  }
}

/** Keeps the signed-in user's profile current after an edit. */
export function updateMe(me: Me): void {
  useSession.setState({ me });
}

configureTokens({ accessToken: freshAccessToken, refresh: refreshSession });
