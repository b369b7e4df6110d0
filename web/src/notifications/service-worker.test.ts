import { describe, expect, it } from 'vitest';
import { ROOM } from '../test/frames';
import { openRoomRequest } from './service-worker';

describe("the service worker's messages", () => {
  it('opens the room a clicked notification names', () => {
    expect(openRoomRequest({ type: 'open-room', room_id: ROOM })).toBe(ROOM);
    expect(openRoomRequest({ type: 'open-room', room_id: ROOM.toUpperCase() })).toBe(ROOM);
  });

  it('ignores anything else', () => {
    expect(openRoomRequest(null)).toBeNull();
    expect(openRoomRequest('open-room')).toBeNull();
    expect(openRoomRequest({ type: 'other', room_id: ROOM })).toBeNull();
    expect(openRoomRequest({ type: 'open-room' })).toBeNull();
    expect(openRoomRequest({ type: 'open-room', room_id: 42 })).toBeNull();
    expect(openRoomRequest({ type: 'open-room', room_id: '../settings' })).toBeNull();
  });
});
