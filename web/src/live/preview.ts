// What a room list shows of each room: its newest message and when it last changed,
// from the room list the server sent and what arrived live since, whichever is newer.

import type { MessageView, Room, Timestamp } from '@protocol';

/** The newer of two messages of one room (same epoch: the later position; else the later send). */
export function newerMessage(a: MessageView | undefined, b: MessageView | undefined): MessageView | undefined {
  if (!a) return b;
  if (!b) return a;
  if (a.epoch === b.epoch) return b.position > a.position ? b : a;
  return (b.sent_at ?? '') > (a.sent_at ?? '') ? b : a;
}

export interface RoomPreview {
  /** The newest message, when the room has one. */
  message: MessageView | undefined;
  /** When the room last changed: its newest message, else what the server said, else its creation. */
  activeAt: Timestamp;
}

export function roomPreview(
  room: Room,
  live: MessageView | undefined,
  changed: Readonly<Record<string, Partial<MessageView>>> = {},
): RoomPreview {
  const newest = newerMessage(room.last_message, live);
  // As it now is: edited or deleted since it was listed or arrived.
  const change = newest ? changed[newest.id] : undefined;
  const message = newest && change ? { ...newest, ...change } : newest;
  const listed = room.last_activity_at ?? room.created_at;
  const sent = message?.sent_at ?? null;
  return { message, activeAt: sent !== null && sent > listed ? sent : listed };
}

/** Latest activity first. */
export function byActivity(a: RoomPreview, b: RoomPreview): number {
  return b.activeAt.localeCompare(a.activeAt);
}

/** A message's text in one line; a message of files only names them ("📎 photo.png"). */
export function previewText(message: MessageView): string {
  const text = message.content.replace(/\s+/g, ' ').trim();
  if (text || !message.attachments?.length) return text;
  return `📎 ${message.attachments.map((file) => file.name).join(', ')}`;
}
