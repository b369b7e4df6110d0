// /api/users: other people's public profiles.

import type { User, UserId, UserList } from '@protocol';
import { ApiError, request } from './client';

/** The most ids `GET /api/users?ids=` takes at once. */
export const USERS_PER_LOOKUP = 100;

interface Waiting {
  resolve: (user: User) => void;
  reject: (error: unknown) => void;
}

let queued = new Map<UserId, Waiting[]>();
let scheduled = false;

/**
 * One user, looked up together with every other user asked for in the same moment: a
 * timeline of fifty senders costs one request (`GET /api/users?ids=`), not fifty.
 */
export function getUser(id: UserId): Promise<User> {
  return new Promise((resolve, reject) => {
    const waiting = queued.get(id) ?? [];
    waiting.push({ resolve, reject });
    queued.set(id, waiting);
    if (!scheduled) {
      scheduled = true;
      // After the current render has asked for everyone it shows.
      setTimeout(flush, 0);
    }
  });
}

function flush(): void {
  const batch = queued;
  queued = new Map();
  scheduled = false;
  const ids = [...batch.keys()];
  for (let start = 0; start < ids.length; start += USERS_PER_LOOKUP) {
    void lookUp(ids.slice(start, start + USERS_PER_LOOKUP), batch);
  }
}

async function lookUp(ids: UserId[], batch: Map<UserId, Waiting[]>): Promise<void> {
  try {
    const found = await request<UserList>('GET', '/users', { query: { ids: ids.join(',') } });
    const byId = new Map(found.users.map((user) => [user.id, user]));
    for (const id of ids) {
      const user = byId.get(id);
      for (const waiting of batch.get(id) ?? []) {
        if (user) waiting.resolve(user);
        else waiting.reject(new ApiError(404, { error: { code: 'user_not_found', message: 'no such user' } }));
      }
    }
  } catch (error) {
    for (const id of ids) for (const waiting of batch.get(id) ?? []) waiting.reject(error);
  }
}

/** Users whose username or display name starts with `search` (case-insensitive). */
export const searchUsers = (search: string) =>
  request<UserList>('GET', '/users', { query: { search, limit: 20 } });
