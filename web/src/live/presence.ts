// Whose presence the screen shows, and whether the person is using this client. Pure parts
// and a small store: components say which users they show (`usePresenceOf`), the shell
// follows exactly those (`presence.subscribe`), and reports activity.

import type { ClientActivity, PresenceView, Timestamp, UserId } from '@protocol';
import { useEffect } from 'react';
import { create } from 'zustand';
import { useLive } from './store';

/** The most users one socket follows. */
export const MAX_FOLLOWED = 500;
/** Without input for this long (or hidden), the client says it is idle. */
export const IDLE_AFTER_MS = 5 * 60_000;

/** How many components show each user. */
export const usePresenceInterest = create<Record<UserId, number>>(() => ({}));

function adjust(user: UserId, by: number): void {
  usePresenceInterest.setState((counts) => {
    const next = { ...counts, [user]: (counts[user] ?? 0) + by };
    if (next[user]! <= 0) delete next[user];
    return next;
  }, true);
}

/** The users to follow: those shown, at most `MAX_FOLLOWED`. */
export function followedUsers(counts: Record<UserId, number>): UserId[] {
  return Object.keys(counts).sort().slice(0, MAX_FOLLOWED);
}

/** The presence of `user` (following it while the component is on screen). */
export function usePresenceOf(user: UserId | null | undefined): PresenceView | undefined {
  useEffect(() => {
    if (!user) return;
    adjust(user, 1);
    return () => adjust(user, -1);
  }, [user]);
  return useLive((s) => (user ? s.presence[user] : undefined));
}

/** Whether the person is using this client now. */
export function activityOf(visible: boolean, lastInputAt: number, now: number): ClientActivity {
  return visible && now - lastInputAt < IDLE_AFTER_MS ? 'active' : 'idle';
}

/** "Online", "Away", "Last seen 5 minutes ago", "Offline". */
export function presenceLabel(view: PresenceView | undefined, now: Date = new Date()): string | null {
  if (!view) return null;
  if (view.status === 'online') return 'Online';
  if (view.status === 'away') return 'Away';
  return view.last_seen ? `Last seen ${ago(view.last_seen, now)}` : 'Offline';
}

function ago(at: Timestamp, now: Date): string {
  const minutes = Math.max(0, Math.round((now.getTime() - new Date(at).getTime()) / 60_000));
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'} ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} hour${hours === 1 ? '' : 's'} ago`;
  const days = Math.round(hours / 24);
  return `${days} day${days === 1 ? '' : 's'} ago`;
}
