// /api/auth: accounts and sessions.

import type {
  Credentials,
  EmailChange,
  EmailVerified,
  Me,
  ProfileChanges,
  RefreshGrant,
  Registration,
  Session,
  SessionList,
} from '@protocol';
import { request } from './client';

// The browser keeps its refresh token in an HttpOnly cookie the server sets.
export const register = (body: Registration) =>
  request<Session>('POST', '/auth/register', { body: { ...body, refresh_cookie: true }, auth: false });

export const login = (body: Credentials) =>
  request<Session>('POST', '/auth/login', { body: { ...body, refresh_cookie: true }, auth: false });

export const refresh = (body: RefreshGrant) =>
  request<Session>('POST', '/auth/refresh', { body, auth: false });

export const logout = () => request<void>('POST', '/auth/logout');

export const logoutEverywhere = () => request<void>('POST', '/auth/logout/all');

export const getMe = () => request<Me>('GET', '/auth/me');

export const updateMe = (body: ProfileChanges) => request<Me>('PATCH', '/auth/me', { body });

/**
 * Moves the account to a new address, with the current password (a wrong one is a 403
 * `wrong_password`, not a session problem). The new address stays unconfirmed until the
 * link mailed to it is opened; the old one is told of the change.
 */
export const changeEmail = (body: EmailChange) => request<Me>('PUT', '/auth/me/email', { body });

/** Mails a password-reset link to the account, if there is one (the answer is the same). */
export const forgotPassword = (login: string) =>
  request<void>('POST', '/auth/password/forgot', { body: { login }, auth: false });

/** Sets a new password with the mailed token; every session of the account ends. */
export const resetPassword = (token: string, password: string) =>
  request<void>('POST', '/auth/password/reset', { body: { token, password }, auth: false });

export const verifyEmail = (token: string) =>
  request<EmailVerified>('POST', '/auth/email/verify', { body: { token }, auth: false });

export const listSessions = () => request<SessionList>('GET', '/auth/sessions');

export const endDeviceSession = (id: string) => request<void>('DELETE', `/auth/sessions/${encodeURIComponent(id)}`);
