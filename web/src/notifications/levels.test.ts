import type { RoomNotifications } from '@protocol';
import { describe, expect, it } from 'vitest';
import { ROOM } from '../test/frames';
import { timeLabel } from '../time';
import { defaultChoiceLabel, defaultRoomLevel, levelUpdate, muteStatus, muteUpdate, mutedUntil } from './levels';

const NOW = new Date(2026, 11, 3, 12, 0, 0); // 3 December, noon, local time
const later = (hours: number) => new Date(NOW.getTime() + hours * 3_600_000);
const settings = (overrides: Partial<RoomNotifications> = {}): RoomNotifications => ({
  room_id: ROOM,
  effective: 'mentions',
  ...overrides,
});

describe('notification levels', () => {
  it('gives a room without its own level the account’s, and direct rooms every message', () => {
    expect(defaultRoomLevel('public', 'mentions')).toBe('mentions');
    expect(defaultRoomLevel('private', 'all')).toBe('all');
    expect(defaultRoomLevel('public', 'none')).toBe('none');
    expect(defaultRoomLevel('direct', 'mentions')).toBe('all');
    expect(defaultRoomLevel('direct', 'all')).toBe('all');
    expect(defaultRoomLevel('direct', 'none')).toBe('none');
  });

  it('says what the default means in this room', () => {
    expect(defaultChoiceLabel('public', 'mentions')).toBe('Default (mentions only)');
    expect(defaultChoiceLabel('direct', 'mentions')).toBe('Default (all messages)');
    expect(defaultChoiceLabel('private', 'none')).toBe('Default (nothing)');
    expect(defaultChoiceLabel('public', undefined)).toBe('Default');
  });

  it('reads a mute that has not run out yet', () => {
    expect(mutedUntil(settings(), NOW)).toBeNull();
    expect(mutedUntil(settings({ muted_until: later(-1).toISOString() }), NOW)).toBeNull();
    expect(mutedUntil(settings({ muted_until: later(1).toISOString() }), NOW)).toEqual(later(1));
  });

  it('says until when a room is muted', () => {
    expect(muteStatus(settings(), NOW)).toBeNull();
    expect(muteStatus(settings({ muted_until: later(3).toISOString() }), NOW)).toBe(
      `Muted until ${timeLabel(later(3))}`,
    );
    expect(muteStatus(settings({ muted_until: later(24).toISOString() }), NOW)).toBe(
      `Muted until tomorrow at ${timeLabel(later(24))}`,
    );
    expect(muteStatus(settings({ muted_until: later(72).toISOString() }), NOW)).toMatch(/^Muted until .+ at /);
  });

  it('changes the level and keeps a mute still running', () => {
    const muted = settings({ level: 'all', muted_until: later(1).toISOString(), effective: 'none' });
    expect(levelUpdate(muted, 'none', NOW)).toEqual({ level: 'none', muted_until: later(1).toISOString() });
    expect(levelUpdate(muted, null, NOW)).toEqual({ muted_until: later(1).toISOString() });
    const ranOut = settings({ level: 'all', muted_until: later(-1).toISOString() });
    expect(levelUpdate(ranOut, 'mentions', NOW)).toEqual({ level: 'mentions' });
  });

  it('mutes and unmutes and keeps the room’s own level', () => {
    expect(muteUpdate(settings({ level: 'all' }), 8 * 3_600_000, NOW)).toEqual({
      level: 'all',
      muted_until: later(8).toISOString(),
    });
    expect(muteUpdate(settings(), 3_600_000, NOW)).toEqual({ muted_until: later(1).toISOString() });
    expect(muteUpdate(settings({ level: 'none', muted_until: later(1).toISOString() }), null, NOW)).toEqual({
      level: 'none',
    });
  });
});
