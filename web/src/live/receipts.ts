// Read receipts: how far the other members of a direct or small room have read, from
// `GET /api/rooms/{id}/reads` when the room opens and `receipts` frames after, and which
// message each of them has seen last. Pure: the connection and the room view call these.

import type { MemberRead, MessageId, MessageView, Position, RoomId, UserId } from '@protocol';

/** Per room, each reader's read position. */
export type ReceiptBoard = Record<RoomId, Record<UserId, Position>>;

/**
 * Reads heard for `room`, merged: a position only moves forward within its epoch (a
 * batch can arrive after a newer answer); a position of another epoch replaces the old
 * one (the room's sequence began again).
 */
export function mergeReads(board: ReceiptBoard, room: RoomId, reads: readonly MemberRead[]): ReceiptBoard {
  if (reads.length === 0) return board;
  const inRoom = { ...board[room] };
  let changed = false;
  for (const read of reads) {
    const known = inRoom[read.user_id];
    if (known && known.epoch === read.epoch && known.position >= read.position) continue;
    inRoom[read.user_id] = { epoch: read.epoch, position: read.position };
    changed = true;
  }
  return changed ? { ...board, [room]: inRoom } : board;
}

/**
 * Under which message to show each reader: the last of `messages` (in room order) at or
 * before their read position. Not the user themself, and not under a reader's own
 * message (a sender has seen what they sent). Readers listed furthest first.
 */
export function seenBy(
  messages: readonly MessageView[],
  readers: Record<UserId, Position> | undefined,
  me: UserId | null,
): Map<MessageId, UserId[]> {
  const seen = new Map<MessageId, UserId[]>();
  if (!readers) return seen;
  const placed: { message: MessageView; reader: UserId }[] = [];
  for (const [reader, at] of Object.entries(readers)) {
    if (reader === me) continue;
    let last: MessageView | null = null;
    for (const message of messages) {
      if (message.epoch !== at.epoch || message.position > at.position) continue;
      if (message.deleted_at === null) last = message;
    }
    if (last && last.sender_id !== reader) placed.push({ message: last, reader });
  }
  placed.sort((a, b) => b.message.position - a.message.position);
  for (const { message, reader } of placed) {
    seen.set(message.id, [...(seen.get(message.id) ?? []), reader]);
  }
  return seen;
}
