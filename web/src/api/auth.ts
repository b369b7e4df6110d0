// /api/auth: accounts and sessions.

import type { Credentials, Me, ProfileChanges, RefreshGrant, Registration, Session } from '@protocol';
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
