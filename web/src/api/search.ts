// /api/search: finding messages by their words.

import type { RoomId, SearchResults } from '@protocol';
import { request } from './client';

/** A page of messages matching `q` (web-search syntax), newest first; in one room or all. */
export const searchMessages = (q: string, room: RoomId | null, cursor: string | null) =>
  request<SearchResults>('GET', '/search/messages', { query: { q, room, cursor, limit: 20 } });
