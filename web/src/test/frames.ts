// Frames as the server writes them, for tests. Typed by the generated protocol, so a
// change of the wire format fails the type check here first.

import type { Ack, MessageView, Ready, ServerFrame } from '@protocol';
import type { RoomEntry } from '../live/timeline';

export const ROOM = '0193a6c1-0000-7000-8000-0000000000c1';
export const OTHER_ROOM = '0193a6c1-0000-7000-8000-0000000000c2';
export const ME = '0193a6c1-0000-7000-8000-000000000077';
export const ALICE = '0193a6c1-0000-7000-8000-000000000078';
export const EPOCH = 1763712000123;

export function message(
  position: number,
  overrides: Partial<MessageView> = {},
): MessageView {
  return {
    id: `m-${overrides.epoch ?? EPOCH}-${position}`,
    room_id: ROOM,
    sender_id: ALICE,
    client_msg_id: `c-${position}`,
    content: `message ${position}`,
    reply_to: null,
    reply_preview: null,
    kind: 'text',
    sent_at: '2026-11-21T06:00:00.123Z',
    edited_at: null,
    deleted_at: null,
    reactions: [],
    mentions: [],
    mentions_room: false,
    thread_root: null,
    thread: null,
    epoch: EPOCH,
    position,
    ...overrides,
  };
}

export function created(position: number, overrides: Partial<MessageView> = {}): RoomEntry {
  const m = message(position, overrides);
  return {
    type: 'message.created',
    room: m.room_id,
    epoch: m.epoch,
    position: m.position,
    id: m.id,
    at: m.sent_at,
    message: m,
  };
}

export function joined(position: number, user = ALICE, epoch = EPOCH): RoomEntry {
  return {
    type: 'member.joined',
    room: ROOM,
    epoch,
    position,
    id: `e-${position}`,
    at: '2026-11-21T06:00:00.123Z',
    user_id: user,
    actor_id: user,
  };
}

export function ack(clientMsgId: string, position: number, duplicate = false): Ack {
  return {
    client_msg_id: clientMsgId,
    id: `m-${EPOCH}-${position}`,
    room: ROOM,
    sent_at: '2026-11-21T06:00:01.000Z',
    duplicate,
    epoch: EPOCH,
    position,
  };
}

export function ready(
  listed: Array<{ id: string; epoch: number; position: number; unread?: number; mentions?: number }>,
): Ready {
  const rooms = listed.map((room) => ({ unread: 0, mentions: 0, ...room }));
  return {
    protocol: 1,
    connection_id: '0193a6c1-0000-7000-8000-0000000000aa',
    user: { id: ME },
    heartbeat_interval_ms: 20000,
    typing_renew_ms: 3000,
    typing_timeout_ms: 6000,
    presence_interval_ms: 1000,
    limits: { max_content_chars: 4000, max_frame_bytes: 65536, sends_per_second: 20 },
    rooms,
  };
}

export function frame(value: ServerFrame): string {
  return JSON.stringify(value);
}
