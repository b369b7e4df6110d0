// Notification levels as the person chooses them: the account's default, a room's own
// level, muting a room for a while, and the words for each.

import type { NotificationLevel, RoomKind, RoomNotifications, RoomNotificationsUpdate } from '@protocol';
import { parseTimestamp, untilLabel } from '../time';

/** The account's choices (the profile), in the order shown. */
export const ACCOUNT_LEVELS: readonly { level: NotificationLevel; label: string }[] = [
  { level: 'all', label: 'All messages' },
  { level: 'mentions', label: 'Mentions and direct messages' },
  { level: 'none', label: 'Nothing' },
];

/** A room's own choices, after "Default" (a room is one conversation: no "direct messages"). */
export const ROOM_LEVELS: readonly { level: NotificationLevel; label: string }[] = [
  { level: 'all', label: 'All messages' },
  { level: 'mentions', label: 'Mentions only' },
  { level: 'none', label: 'Nothing' },
];

/** The level when the server has not said: new accounts start at `mentions`. */
export const FIRST_ACCOUNT_LEVEL: NotificationLevel = 'mentions';

/**
 * What a room without its own level notifies: the account's level, except that a direct
 * room is one person writing to you, so every message counts unless the account says
 * nothing at all.
 */
export function defaultRoomLevel(kind: RoomKind, account: NotificationLevel): NotificationLevel {
  if (kind === 'direct') return account === 'none' ? 'none' : 'all';
  return account;
}

/** "Default (mentions only)": the room's default choice, with what it means here. */
export function defaultChoiceLabel(kind: RoomKind, account: NotificationLevel | undefined): string {
  if (account === undefined) return 'Default';
  const level = defaultRoomLevel(kind, account);
  const label = ROOM_LEVELS.find((choice) => choice.level === level)!.label;
  return `Default (${label.toLowerCase()})`;
}

/** How long a room can be muted for, in the order shown. */
export const MUTE_LENGTHS: readonly { label: string; ms: number }[] = [
  { label: '1 hour', ms: 60 * 60_000 },
  { label: '8 hours', ms: 8 * 60 * 60_000 },
  { label: '1 day', ms: 24 * 60 * 60_000 },
];

/** Until when the room is muted, or null when it is not (or no longer). */
export function mutedUntil(settings: RoomNotifications, now: Date = new Date()): Date | null {
  if (!settings.muted_until) return null;
  const until = parseTimestamp(settings.muted_until);
  return until.getTime() > now.getTime() ? until : null;
}

/** "Muted until 15:05", or null when the room is not muted. */
export function muteStatus(settings: RoomNotifications, now: Date = new Date()): string | null {
  const until = mutedUntil(settings, now);
  return until ? `Muted until ${untilLabel(until, now)}` : null;
}

/**
 * The body that gives the room `level` (null: back to the default) and keeps its mute: a
 * PUT sets both, so what it leaves out is cleared.
 */
export function levelUpdate(
  settings: RoomNotifications,
  level: NotificationLevel | null,
  now: Date = new Date(),
): RoomNotificationsUpdate {
  const update: RoomNotificationsUpdate = {};
  if (level !== null) update.level = level;
  const until = mutedUntil(settings, now);
  if (until) update.muted_until = until.toISOString();
  return update;
}

/** The body that mutes the room for `forMs` from now (null: unmutes it) and keeps its level. */
export function muteUpdate(
  settings: RoomNotifications,
  forMs: number | null,
  now: Date = new Date(),
): RoomNotificationsUpdate {
  const update: RoomNotificationsUpdate = {};
  if (settings.level !== undefined) update.level = settings.level;
  if (forMs !== null) update.muted_until = new Date(now.getTime() + forMs).toISOString();
  return update;
}
