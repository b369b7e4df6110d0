// The one place where the protocol's times (RFC 3339 in UTC, milliseconds) become what a
// person reads, in their own time zone and language.

import type { Timestamp } from '@protocol';

export function parseTimestamp(value: Timestamp): Date {
  return new Date(value);
}

/** The local calendar day of a time, as `YYYY-MM-DD`: messages are grouped by it. */
export function dayKey(value: Timestamp | Date): string {
  const date = typeof value === 'string' ? parseTimestamp(value) : value;
  const month = String(date.getMonth() + 1).padStart(2, '0');
  const day = String(date.getDate()).padStart(2, '0');
  return `${date.getFullYear()}-${month}-${day}`;
}

/** "Today", "Yesterday", or the date, for a day separator. */
export function dayLabel(value: Timestamp | Date, now: Date = new Date()): string {
  const date = typeof value === 'string' ? parseTimestamp(value) : value;
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (dayKey(date) === dayKey(now)) return 'Today';
  if (dayKey(date) === dayKey(yesterday)) return 'Yesterday';
  return date.toLocaleDateString(undefined, {
    weekday: 'long',
    month: 'long',
    day: 'numeric',
    ...(date.getFullYear() === now.getFullYear() ? {} : { year: 'numeric' }),
  });
}

/** The time of day of a message, e.g. "14:05" or "2:05 PM". */
export function timeLabel(value: Timestamp | Date): string {
  const date = typeof value === 'string' ? parseTimestamp(value) : value;
  return date.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
}

/** Milliseconds between two times. */
export function between(a: Timestamp, b: Timestamp): number {
  return Math.abs(parseTimestamp(b).getTime() - parseTimestamp(a).getTime());
}

/** When a room last changed, for its line in the room list: "14:05" today, "Yesterday", "Tue" this week, else "3 Dec". */
export function activityLabel(value: Timestamp | Date, now: Date = new Date()): string {
  const date = typeof value === 'string' ? parseTimestamp(value) : value;
  if (dayKey(date) === dayKey(now)) return timeLabel(date);
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (dayKey(date) === dayKey(yesterday)) return 'Yesterday';
  const weekAgo = new Date(now);
  weekAgo.setDate(now.getDate() - 6);
  weekAgo.setHours(0, 0, 0, 0);
  if (date >= weekAgo) return date.toLocaleDateString(undefined, { weekday: 'short' });
  return date.toLocaleDateString(undefined, {
    month: 'short',
    day: 'numeric',
    ...(date.getFullYear() === now.getFullYear() ? {} : { year: 'numeric' }),
  });
}

/** A moment ahead, for "until …": "15:05" today, "tomorrow at 09:00", else "Fri 5 Dec at 14:05". */
export function untilLabel(value: Timestamp | Date, now: Date = new Date()): string {
  const date = typeof value === 'string' ? parseTimestamp(value) : value;
  const time = timeLabel(date);
  if (dayKey(date) === dayKey(now)) return time;
  const tomorrow = new Date(now);
  tomorrow.setDate(now.getDate() + 1);
  if (dayKey(date) === dayKey(tomorrow)) return `tomorrow at ${time}`;
  const day = date.toLocaleDateString(undefined, {
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    ...(date.getFullYear() === now.getFullYear() ? {} : { year: 'numeric' }),
  });
  return `${day} at ${time}`;
}
