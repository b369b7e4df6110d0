// How people and rooms are named on screen.

import type { Room, User, UserId } from '@protocol';

export function displayName(user: Pick<User, 'username' | 'display_name'> | undefined): string {
  if (!user) return '…';
  return user.display_name?.trim() || user.username;
}

/** The other person of a direct room (or oneself, in a room with oneself). */
export function directPartner(room: Room, me: UserId | null): UserId | null {
  const others = (room.direct_user_ids ?? []).filter((id) => id !== me);
  return others[0] ?? room.direct_user_ids?.[0] ?? null;
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0]![0]! + parts[1]![0]! : name.slice(0, 2);
  return letters.toUpperCase();
}

/** "Firefox on Linux" from a user agent, or the agent itself when it is none of these. */
export function deviceName(userAgent: string): string {
  const browser =
    [
      ['Edg/', 'Edge'],
      ['Firefox/', 'Firefox'],
      ['Chrome/', 'Chrome'],
      ['Safari/', 'Safari'],
    ].find(([marker]) => userAgent.includes(marker!))?.[1] ?? null;
  const system =
    [
      ['Android', 'Android'],
      ['iPhone', 'iPhone'],
      ['iPad', 'iPad'],
      ['Windows', 'Windows'],
      ['Mac OS X', 'macOS'],
      ['Linux', 'Linux'],
    ].find(([marker]) => userAgent.includes(marker!))?.[1] ?? null;
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? (userAgent.slice(0, 60) || 'Unknown device');
}
