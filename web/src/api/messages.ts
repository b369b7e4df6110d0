// A room's messages over REST (sending goes over the socket, see live/connection.ts).

import type { MessagesPage, RoomId } from '@protocol';
import { request } from './client';

export interface PageBounds {
  /** `<epoch>:<position>` or a bare position; exclusive. Give one bound or none. */
  before?: string;
  after?: string;
  limit?: number;
}

/** A page of a room's messages, oldest first; with no bound, the newest. */
export const listMessages = (room: RoomId, bounds: PageBounds = {}) =>
  request<MessagesPage>('GET', `/rooms/${room}/messages`, {
    query: { before: bounds.before, after: bounds.after, limit: bounds.limit ?? 50 },
  });
