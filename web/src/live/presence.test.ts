import { describe, expect, it } from 'vitest';
import { activityOf, followedUsers, IDLE_AFTER_MS, MAX_FOLLOWED, presenceLabel } from './presence';

describe('presence on screen', () => {
  it('follows the users shown, at most the server limit', () => {
    expect(followedUsers({ b: 1, a: 2 })).toEqual(['a', 'b']);
    const many = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`u${String(i).padStart(3, '0')}`, 1]));
    expect(followedUsers(many)).toHaveLength(MAX_FOLLOWED);
  });

  it('is idle when hidden or unused for a while', () => {
    expect(activityOf(true, 0, 1_000)).toBe('active');
    expect(activityOf(false, 0, 1_000)).toBe('idle');
    expect(activityOf(true, 0, IDLE_AFTER_MS + 1)).toBe('idle');
  });

  it('says it in words', () => {
    const now = new Date('2026-12-03T12:00:00.000Z');
    const offline = (last_seen: string | null) => ({ user_id: 'u', status: 'offline' as const, last_seen });
    expect(presenceLabel({ user_id: 'u', status: 'online', last_seen: null }, now)).toBe('Online');
    expect(presenceLabel({ user_id: 'u', status: 'away', last_seen: null }, now)).toBe('Away');
    expect(presenceLabel(offline('2026-12-03T11:55:00.000Z'), now)).toBe('Last seen 5 minutes ago');
    expect(presenceLabel(offline('2026-12-03T11:59:50.000Z'), now)).toBe('Last seen just now');
    expect(presenceLabel(offline('2026-12-01T12:00:00.000Z'), now)).toBe('Last seen 2 days ago');
    expect(presenceLabel(offline(null), now)).toBe('Offline');
    expect(presenceLabel(undefined, now)).toBeNull();
  });
});
