import type { ErrorFrame } from '@protocol';
import { describe, expect, it } from 'vitest';
import { ALICE, EPOCH, ME, OTHER_ROOM, ROOM, ack, created, ready } from '../test/frames';
import { newPending } from './pending';
import {
  initialLiveState,
  onAck,
  onDisconnected,
  onEntry,
  onOpenRoom,
  onQueued,
  onRead,
  onReady,
  onRetry,
  onRoomRemoved,
  onSendError,
  onTyping,
  onWritten,
  resumePositions,
  type LiveState,
} from './state';

const NOW = new Date('2026-11-21T06:00:00.000Z');

/** Signed in, in ROOM at position 10, with one message being sent. */
function sending(clientMsgId = 'send-1'): LiveState {
  let state = onReady(initialLiveState, ready([{ id: ROOM, epoch: EPOCH, position: 10 }]), []).state;
  state = onQueued(state, newPending(ROOM, 'hello', clientMsgId, NOW)).state;
  return onWritten(state, [clientMsgId]).state;
}

const mine = (position: number, clientMsgId = 'send-1') =>
  created(position, { sender_id: ME, client_msg_id: clientMsgId, content: 'hello' });

const shown = (state: LiveState) =>
  state.rooms[ROOM]!.messages.map((m) => [m.position, m.client_msg_id]);

describe('pending sends', () => {
  it('shows a send at once as pending', () => {
    const state = sending();
    expect(state.pending).toMatchObject([{ clientMsgId: 'send-1', state: 'sending', content: 'hello' }]);
    expect(shown(state)).toEqual([]);
  });

  it('is confirmed by its ack, then its event does not show it twice', () => {
    let state = onAck(sending(), ack('send-1', 11)).state;
    expect(state.pending).toEqual([]);
    expect(shown(state)).toEqual([[11, 'send-1']]);
    // The ack does not move the cursor: the event at 11 is still to come, in order.
    expect(state.rooms[ROOM]!.cursor).toEqual({ epoch: EPOCH, position: 10 });

    state = onEntry(state, mine(11)).state;
    expect(shown(state)).toEqual([[11, 'send-1']]);
    expect(state.rooms[ROOM]!.cursor).toEqual({ epoch: EPOCH, position: 11 });
  });

  it('is confirmed by its event when that comes before the ack', () => {
    let state = onEntry(sending(), mine(11)).state;
    expect(state.pending).toEqual([]);
    state = onAck(state, ack('send-1', 11)).state;
    expect(shown(state)).toEqual([[11, 'send-1']]);
  });

  it('is queued again after a disconnect, with the same client_msg_id', () => {
    const state = onDisconnected(sending()).state;
    expect(state.pending).toMatchObject([{ clientMsgId: 'send-1', state: 'queued' }]);
  });

  it.each([
    ['the catch-up delivers the event, then the retry is acked as a duplicate', ['event', 'ack']],
    ['the retry is acked as a duplicate, then the catch-up delivers the event', ['ack', 'event']],
  ])('is not duplicated when %s', (_case, order) => {
    let state = onDisconnected(sending()).state;
    state = onWritten(state, ['send-1']).state; // sent again on the new socket
    for (const what of order) {
      state =
        what === 'ack'
          ? onAck(state, ack('send-1', 11, true)).state
          : onEntry(state, mine(11)).state;
    }
    expect(state.pending).toEqual([]);
    expect(shown(state)).toEqual([[11, 'send-1']]);
  });

  it('ignores an ack for a send already confirmed', () => {
    let state = onAck(sending(), ack('send-1', 11)).state;
    const again = onAck(state, ack('send-1', 11, true)).state;
    expect(shown(again)).toEqual(shown(state));
    state = again;
    expect(state.pending).toEqual([]);
  });

  it('fails on a refusal and is queued again by a retry', () => {
    const refusal: ErrorFrame = { code: 'content_too_long', message: 'too long', ref: 'send-1' };
    let state = onSendError(sending(), refusal, NOW.getTime()).state;
    expect(state.pending).toMatchObject([
      { state: 'failed', error: { code: 'content_too_long', message: 'too long' } },
    ]);
    state = onRetry(state, 'send-1').state;
    expect(state.pending).toMatchObject([{ clientMsgId: 'send-1', state: 'queued', error: null }]);
  });

  it('waits and retries by itself when rate limited', () => {
    const limited: ErrorFrame = {
      code: 'rate_limited',
      message: 'slow down',
      ref: 'send-1',
      retry_after_ms: 50,
    };
    const state = onSendError(sending(), limited, NOW.getTime()).state;
    expect(state.pending).toMatchObject([
      { state: 'queued', notBefore: NOW.getTime() + 50, retries: 1 },
    ]);
  });

  it("does not confirm someone else's message with the same client_msg_id", () => {
    const state = onEntry(sending(), created(11, { sender_id: ALICE, client_msg_id: 'send-1' })).state;
    expect(state.pending).toHaveLength(1);
  });
});

describe('ready and resume', () => {
  it('resumes every known room from its cursor', () => {
    let state = onReady(initialLiveState, ready([{ id: ROOM, epoch: EPOCH, position: 10 }]), []).state;
    state = onEntry(state, created(11)).state;
    expect(resumePositions(state)).toEqual({ [ROOM]: { epoch: EPOCH, position: 11 } });
  });

  it('keeps resumed cursors, starts new rooms live, and drops rooms no longer listed', () => {
    let state = onReady(
      initialLiveState,
      ready([
        { id: ROOM, epoch: EPOCH, position: 10 },
        { id: OTHER_ROOM, epoch: EPOCH, position: 3 },
      ]),
      [],
    ).state;
    const NEW_ROOM = '0193a6c1-0000-7000-8000-0000000000c3';
    const step = onReady(
      state,
      ready([
        { id: ROOM, epoch: EPOCH, position: 25 },
        { id: NEW_ROOM, epoch: EPOCH, position: 7 },
      ]),
      [ROOM, OTHER_ROOM],
    );
    state = step.state;
    expect(state.rooms[ROOM]!.cursor).toEqual({ epoch: EPOCH, position: 10 });
    expect(state.rooms[NEW_ROOM]!.cursor).toEqual({ epoch: EPOCH, position: 7 });
    expect(state.rooms[OTHER_ROOM]).toBeUndefined();
    expect(step.effects).toEqual([
      { type: 'room_removed', room: OTHER_ROOM, reason: 'not_a_member' },
      { type: 'rooms_changed' },
    ]);
  });

  it('forgets a removed room with its pending sends', () => {
    const step = onRoomRemoved(sending(), { room: ROOM, reason: 'kicked' });
    expect(step.state.rooms[ROOM]).toBeUndefined();
    expect(step.state.pending).toEqual([]);
    expect(step.effects).toContainEqual({ type: 'room_removed', room: ROOM, reason: 'kicked' });
  });
});

describe('unread counts', () => {
  it("counts others' messages in rooms that are not open, and clears on opening", () => {
    let state = sending();
    state = onEntry(state, created(11)).state;
    state = onEntry(state, mine(12)).state;
    expect(state.unread).toEqual({ [ROOM]: 1 });
    state = onOpenRoom(state, ROOM).state;
    expect(state.unread).toEqual({});
    state = onEntry(state, created(13)).state;
    expect(state.unread).toEqual({});
  });
});

describe('read state', () => {
  it('starts from the counts ready gives, and counts mentions of the user apart', () => {
    let state = onReady(
      initialLiveState,
      ready([
        { id: ROOM, epoch: EPOCH, position: 10, unread: 4, mentions: 1 },
        { id: OTHER_ROOM, epoch: EPOCH, position: 3 },
      ]),
      [],
    ).state;
    expect(state.unread).toEqual({ [ROOM]: 4 });
    expect(state.mentions).toEqual({ [ROOM]: 1 });
    state = onEntry(state, created(11, { mentions: [ME] })).state;
    state = onEntry(state, created(12, { mentions_room: true })).state;
    state = onEntry(state, created(13)).state;
    expect(state.unread).toEqual({ [ROOM]: 7 });
    expect(state.mentions).toEqual({ [ROOM]: 3 });
  });

  it('clears what another device read, and never goes back', () => {
    let state = onReady(initialLiveState, ready([{ id: ROOM, epoch: EPOCH, position: 10, unread: 2 }]), []).state;
    state = onEntry(state, created(11)).state;
    state = onRead(state, { room: ROOM, epoch: EPOCH, position: 11 }).state;
    expect(state.unread).toEqual({});
    expect(state.readPositions[ROOM]).toEqual({ epoch: EPOCH, position: 11 });
    const before = onRead(state, { room: ROOM, epoch: EPOCH, position: 5 }).state;
    expect(before.readPositions[ROOM]).toEqual({ epoch: EPOCH, position: 11 });
  });
});

describe('typing', () => {
  const signedIn = () => onReady(initialLiveState, ready([{ id: ROOM, epoch: EPOCH, position: 10 }]), []).state;
  const start = (user: string, room = ROOM) => ({ room, user_id: user, state: 'start' as const });

  it('takes the timeout from ready and ignores oneself and rooms one is not in', () => {
    let state = signedIn();
    expect(state.typingTimeoutMs).toBe(6000);
    state = onTyping(state, start(ME), 0).state;
    state = onTyping(state, start(ALICE, OTHER_ROOM), 0).state;
    expect(state.typing).toEqual({});
    state = onTyping(state, start(ALICE), 1_000).state;
    expect(state.typing).toEqual({ [ROOM]: { [ALICE]: 7_000 } });
  });

  it("ends with the typist's message, and is forgotten when the socket drops", () => {
    let state = onTyping(signedIn(), start(ALICE), 0).state;
    state = onEntry(state, created(11, { sender_id: ALICE })).state;
    expect(state.typing).toEqual({});
    state = onTyping(state, start(ALICE), 0).state;
    state = onDisconnected(state).state;
    expect(state.typing).toEqual({});
  });
});
