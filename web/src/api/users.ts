// /api/users: other people's public profiles.

import type { User, UserId, UserList } from '@protocol';
import { request } from './client';

export const getUser = (id: UserId) => request<User>('GET', `/users/${id}`);

/** Users whose username or display name starts with `search` (case-insensitive). */
export const searchUsers = (search: string) =>
  request<UserList>('GET', '/users', { query: { search, limit: 20 } });
