// The rows of a room's timeline: loaded messages, then the user's pending sends, with a
// separator before each new day, and consecutive messages of one sender grouped under
// one name.

import type { MessageView, Timestamp, UserId } from '@protocol';
import type { PendingSend } from '../live/pending';
import { between, dayKey, dayLabel } from '../time';

export type TimelineRow =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'message'; key: string; message: MessageView; grouped: boolean }
  | { kind: 'pending'; key: string; send: PendingSend; grouped: boolean };

/** Messages of one sender this close together show under one name. */
const GROUP_WINDOW_MS = 5 * 60_000;

export function timelineRows(
  messages: readonly MessageView[],
  pending: readonly PendingSend[],
  me: UserId | null,
  now: Date = new Date(),
): TimelineRow[] {
  const rows: TimelineRow[] = [];
  let day: string | null = null;
  let last: { sender: UserId; at: Timestamp | null } | null = null;

  const startDay = (at: Timestamp | null): boolean => {
    if (at === null) return false;
    const key = dayKey(at);
    if (key === day) return false;
    day = key;
    rows.push({ kind: 'day', key: `day:${key}`, label: dayLabel(at, now) });
    return true;
  };
  const groups = (sender: UserId, at: Timestamp | null, newDay: boolean): boolean =>
    !newDay &&
    last !== null &&
    last.sender === sender &&
    (at === null || last.at === null || between(last.at, at) < GROUP_WINDOW_MS);

  for (const message of messages) {
    const newDay = startDay(message.sent_at);
    const grouped = groups(message.sender_id, message.sent_at, newDay);
    rows.push({ kind: 'message', key: `m:${message.id}`, message, grouped });
    last = { sender: message.sender_id, at: message.sent_at };
  }
  for (const send of pending) {
    const newDay = startDay(send.createdAt);
    const grouped = me !== null && groups(me, send.createdAt, newDay);
    rows.push({ kind: 'pending', key: `p:${send.clientMsgId}`, send, grouped });
    if (me !== null) last = { sender: me, at: send.createdAt };
  }
  return rows;
}

/**
 * Virtuoso's `firstItemIndex` after the rows changed: it must go down by exactly the
 * number of rows added above what was shown, so the view stays put when older pages
 * load. `anchor` is the first message row of the previous rows.
 */
export function nextFirstItemIndex(
  previous: { firstItemIndex: number; anchorKey: string; anchorIndex: number } | null,
  rows: readonly TimelineRow[],
  start: number,
): number {
  if (!previous) return start;
  const index = rows.findIndex((row) => row.key === previous.anchorKey);
  if (index < 0) return start;
  return previous.firstItemIndex - (index - previous.anchorIndex);
}
