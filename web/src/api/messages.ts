// A room's messages over REST (sending goes over the socket, see live/connection.ts), and
// changes to one message.

import type {
  EditMessage,
  MessageId,
  MessageView,
  MessagesPage,
  NewReaction,
  RevisionList,
  RoomId,
} from '@protocol';
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

/** Replaces the content of one's own message; the message as it now is. */
export const editMessage = (id: MessageId, content: string) =>
  request<MessageView>('PUT', `/messages/${id}`, { body: { content } satisfies EditMessage });

/** Deletes a message (one's own, or any as a room admin or owner); the tombstone. */
export const deleteMessage = (id: MessageId) => request<MessageView>('DELETE', `/messages/${id}`);

/** Every version of a message, oldest first; none once deleted. */
export const listRevisions = (id: MessageId) =>
  request<RevisionList>('GET', `/messages/${id}/revisions`);

/** Adds one's reaction to a message; the message with its reactions as they now are. */
export const addReaction = (id: MessageId, emoji: string) =>
  request<MessageView>('POST', `/messages/${id}/react`, { body: { emoji } satisfies NewReaction });

/** Takes one's reaction back. */
export const removeReaction = (id: MessageId, emoji: string) =>
  request<MessageView>('DELETE', `/messages/${id}/reactions/${encodeURIComponent(emoji)}`);

/** A page of the replies in a message's thread, oldest first; with no bound, the newest. */
export const listThread = (root: MessageId, bounds: PageBounds = {}) =>
  request<MessagesPage>('GET', `/messages/${root}/thread`, {
    query: { before: bounds.before, after: bounds.after, limit: bounds.limit ?? 50 },
  });
