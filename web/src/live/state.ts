// Everything the live connection knows, as one value, and one pure function per thing
// that can happen to it. The zustand store (store.ts) holds the value; the connection
// (connection.ts) calls these and carries out the effects they return.

import type {
  Ack,
  ErrorFrame,
  Limits,
  MessageView,
  MessagesPage,
  Position,
  PresenceList,
  PresenceView,
  ReadMark,
  Ready,
  Receipts,
  RemovalReason,
  Resumed,
  Resync,
  RoomAdded,
  RoomId,
  RoomReads,
  RoomRemoved,
  Typing,
  UserId,
} from '@protocol';
import {
  confirmByAck,
  confirmByMessage,
  discardSend,
  failBySendError,
  markSending,
  messageFromAck,
  requeueUnacknowledged,
  retrySend,
  type PendingSend,
} from './pending';
import { positionOf, samePosition } from './position';
import { mergeReads, type ReceiptBoard } from './receipts';
import { applyTyping, DEFAULT_TYPING, messageFrom, type TypingBoard } from './typing';
import {
  abandonFill,
  applyEntry,
  applyFillPage,
  applyLatestPage,
  applyOlderPage,
  applyResync,
  insertMessage,
  newTimeline,
  resetTimeline,
  type RoomEntry,
  type RoomTimeline,
  type TimelineEffect,
  type TimelineStep,
} from './timeline';

/** What an edit or a deletion changed in a message. */
export type MessageChange = Partial<Pick<MessageView, 'content' | 'edited_at' | 'deleted_at'>>;

export interface LiveState {
  /** The signed-in user, as `ready` names them. */
  me: UserId | null;
  limits: Limits | null;
  /** Every room the user belongs to, direct rooms included. */
  rooms: Record<RoomId, RoomTimeline>;
  /** Sends not yet acknowledged, oldest first. */
  pending: PendingSend[];
  /** Messages of others after the user's read position (from `ready`, then live). */
  unread: Record<RoomId, number>;
  /** Of those, the ones mentioning the user (`@username` or `@room`). */
  mentions: Record<RoomId, number>;
  /** How far the user has read each room, as the server last said. */
  readPositions: Record<RoomId, Position>;
  /** How far the other members of direct and small rooms have read (read receipts). */
  receipts: ReceiptBoard;
  /** The newest message that arrived live in each room, for the room list's preview. */
  latest: Record<RoomId, MessageView>;
  /** Edits and deletions heard live, by message id: a preview shows a message as it now is
   * even when its room's messages are not loaded. */
  changed: Record<string, MessageChange>;
  /** The presence of the users this client follows (`presence.subscribe`). */
  presence: Record<UserId, PresenceView>;
  /** Who else is typing where (`typing` frames), until when. */
  typing: TypingBoard;
  /** How often to renew one's own `typing` and when others' lapse (from `ready`). */
  typingRenewMs: number;
  typingTimeoutMs: number;
  openRoom: RoomId | null;
}

export type LiveEffect =
  | TimelineEffect
  /** The set of rooms the user belongs to changed: reload the room list. */
  | { type: 'rooms_changed' }
  /** The user no longer belongs to this room. */
  | { type: 'room_removed'; room: RoomId; reason: RemovalReason };

export interface Step {
  state: LiveState;
  effects: LiveEffect[];
}

export const initialLiveState: LiveState = {
  me: null,
  limits: null,
  rooms: {},
  pending: [],
  unread: {},
  mentions: {},
  readPositions: {},
  receipts: {},
  latest: {},
  changed: {},
  presence: {},
  typing: {},
  typingRenewMs: DEFAULT_TYPING.renewMs,
  typingTimeoutMs: DEFAULT_TYPING.timeoutMs,
  openRoom: null,
};

const same = (state: LiveState): Step => ({ state, effects: [] });

function without<T>(record: Record<RoomId, T>, room: RoomId): Record<RoomId, T> {
  if (!(room in record)) return record;
  const copy = { ...record };
  delete copy[room];
  return copy;
}

/** What `auth.resume` carries: the cursor of every room this client knows. */
export function resumePositions(state: LiveState): Record<RoomId, Position> {
  const resume: Record<RoomId, Position> = {};
  for (const [room, timeline] of Object.entries(state.rooms)) {
    if (timeline.cursor) resume[room] = positionOf(timeline.cursor);
  }
  return resume;
}

/**
 * `ready`: the rooms the user belongs to now. Resumed rooms keep their cursor (their
 * catch-up follows); the others start live at the position `ready` gives. Rooms no longer
 * listed were left while this client was away.
 */
export function onReady(state: LiveState, ready: Ready, resumed: readonly RoomId[]): Step {
  const rooms: Record<RoomId, RoomTimeline> = {};
  for (const listed of ready.rooms) {
    const known = state.rooms[listed.id];
    if (known && resumed.includes(listed.id)) {
      rooms[listed.id] = known;
    } else if (known) {
      rooms[listed.id] = { ...known, cursor: positionOf(listed) };
    } else {
      rooms[listed.id] = newTimeline(positionOf(listed));
    }
  }
  const gone = Object.keys(state.rooms).filter((room) => !(room in rooms));
  const added = ready.rooms.some((r) => !(r.id in state.rooms));
  const effects: LiveEffect[] = gone.map((room) => ({
    type: 'room_removed' as const,
    room,
    reason: 'not_a_member' as const,
  }));
  // The very first `ready` agrees with the room list just loaded; later ones may not.
  if (Object.keys(state.rooms).length > 0 && (gone.length > 0 || added)) {
    effects.push({ type: 'rooms_changed' });
  }
  return {
    state: {
      ...state,
      me: ready.user.id,
      limits: ready.limits,
      typingRenewMs: ready.typing_renew_ms,
      typingTimeoutMs: ready.typing_timeout_ms,
      rooms,
      pending: state.pending.filter((p) => p.room in rooms),
      unread: counted(ready, state.openRoom, (r) => r.unread),
      mentions: counted(ready, state.openRoom, (r) => r.mentions),
      readPositions: Object.fromEntries(
        ready.rooms.flatMap((r) => (r.read_position ? [[r.id, r.read_position] as const] : [])),
      ),
      latest: Object.fromEntries(Object.entries(state.latest).filter(([room]) => room in rooms)),
    },
    effects,
  };
}

/** A count per room from `ready`; none for the room on screen (it is being read). */
function counted(ready: Ready, open: RoomId | null, count: (room: Ready['rooms'][number]) => number) {
  return Object.fromEntries(ready.rooms.filter((r) => r.id !== open && count(r) > 0).map((r) => [r.id, count(r)]));
}

/** Whether a message mentions `me` (by name, or the whole room). */
export function mentionsOf(message: MessageView, me: UserId | null): boolean {
  return message.mentions_room || (me !== null && message.mentions.includes(me));
}

/** `receipts`: other members of a small room read further. */
export function onReceipts(state: LiveState, frame: Receipts): Step {
  const receipts = mergeReads(state.receipts, frame.room, frame.reads);
  return same(receipts === state.receipts ? state : { ...state, receipts });
}

/** `GET /api/rooms/{id}/reads`, when the room opens: where its members stand. */
export function onRoomReads(state: LiveState, room: RoomId, answer: RoomReads): Step {
  const receipts = mergeReads(state.receipts, room, answer.reads);
  return same(receipts === state.receipts ? state : { ...state, receipts });
}

/**
 * `read`: the user's read position in a room moved (maybe on another device). What is
 * left unread is counted again from the loaded messages; a room read to its end has none.
 */
export function onRead(state: LiveState, read: ReadMark): Step {
  const at = { epoch: read.epoch, position: read.position };
  const timeline = state.rooms[read.room];
  const known = state.readPositions[read.room];
  if (known && known.epoch === at.epoch && known.position >= at.position) return same(state);
  const readPositions = { ...state.readPositions, [read.room]: at };
  let left: MessageView[] | null = null;
  if (timeline?.cursor && isAtOrAfter(at, timeline.cursor)) {
    left = [];
  } else if (timeline && timeline.loaded) {
    left = timeline.messages.filter(
      (m) => m.epoch === at.epoch && m.position > at.position && m.sender_id !== state.me && m.deleted_at === null,
    );
  }
  if (left === null) return same({ ...state, readPositions });
  const unread = left.length > 0 ? { ...state.unread, [read.room]: left.length } : without(state.unread, read.room);
  const mentioned = left.filter((m) => mentionsOf(m, state.me)).length;
  const mentions = mentioned > 0 ? { ...state.mentions, [read.room]: mentioned } : without(state.mentions, read.room);
  return same({ ...state, readPositions, unread, mentions });
}

function isAtOrAfter(a: Position, b: Position): boolean {
  return a.epoch === b.epoch && a.position >= b.position;
}

/** Folds a room's timeline step into the state: own messages confirm pending sends. */
function absorb(state: LiveState, room: RoomId, step: TimelineStep): Step {
  let pending = state.pending;
  let unread = state.unread;
  let mentions = state.mentions;
  let latest = state.latest;
  let typing = state.typing;
  let changed = state.changed;
  for (const entry of step.applied) {
    if (entry.type === 'message.edited') {
      changed = { ...changed, [entry.message_id]: { content: entry.content, edited_at: entry.edited_at } };
      continue;
    }
    if (entry.type === 'message.deleted') {
      changed = { ...changed, [entry.message_id]: { content: '', deleted_at: entry.deleted_at } };
      continue;
    }
    if (entry.type !== 'message.created') continue;
    pending = confirmByMessage(pending, entry.message, state.me);
    // A room's preview is its main timeline's latest; thread replies stay in their thread.
    if (entry.message.thread_root === null) latest = { ...latest, [room]: entry.message };
    typing = messageFrom(typing, room, entry.message.sender_id);
    if (entry.message.sender_id !== state.me && room !== state.openRoom) {
      unread = { ...unread, [room]: (unread[room] ?? 0) + 1 };
      if (mentionsOf(entry.message, state.me)) mentions = { ...mentions, [room]: (mentions[room] ?? 0) + 1 };
    }
  }
  return {
    state: {
      ...state,
      rooms: { ...state.rooms, [room]: step.timeline },
      pending,
      unread,
      mentions,
      latest,
      changed,
      typing,
    },
    effects: step.effects,
  };
}

export function onEntry(state: LiveState, entry: RoomEntry): Step {
  const timeline = state.rooms[entry.room] ?? newTimeline(null);
  return absorb(state, entry.room, applyEntry(timeline, entry, state.me));
}

/** An `ack`: the send is confirmed and shows as sent, at its position, until its event comes. */
export function onAck(state: LiveState, ack: Ack): Step {
  const { pending, confirmed } = confirmByAck(state.pending, ack);
  const timeline = state.rooms[ack.room];
  if (!confirmed || !timeline || state.me === null) return same({ ...state, pending });
  const messages = insertMessage(timeline.messages, messageFromAck(confirmed, ack, state.me));
  return same({
    ...state,
    pending,
    rooms: { ...state.rooms, [ack.room]: { ...timeline, messages } },
  });
}

export function onSendError(state: LiveState, error: ErrorFrame, now: number): Step {
  return same({ ...state, pending: failBySendError(state.pending, error, now) });
}

export function onResync(state: LiveState, resync: Resync): Step {
  const timeline = state.rooms[resync.room] ?? newTimeline(null);
  return absorb(state, resync.room, applyResync(timeline, resync.room, resync));
}

/**
 * `resumed` ends a room's catch-up at the position the client now stands at. The cursor
 * agrees unless something was lost on the way; then the room starts over there.
 */
export function onResumed(state: LiveState, resumed: Resumed): Step {
  const at = positionOf(resumed);
  const timeline = state.rooms[resumed.room];
  if (!timeline) {
    return same({ ...state, rooms: { ...state.rooms, [resumed.room]: newTimeline(at) } });
  }
  if (timeline.fill || (timeline.cursor && samePosition(timeline.cursor, at))) return same(state);
  return absorb(state, resumed.room, {
    timeline: resetTimeline(timeline, at),
    effects: [
      { type: 'members_changed', room: resumed.room },
      { type: 'details_changed', room: resumed.room },
    ],
    applied: [],
  });
}

export function onRoomAdded(state: LiveState, added: RoomAdded): Step {
  const known = state.rooms[added.room];
  const timeline = known?.cursor ? known : { ...(known ?? newTimeline(null)), cursor: positionOf(added) };
  return {
    state: { ...state, rooms: { ...state.rooms, [added.room]: timeline } },
    effects: [{ type: 'rooms_changed' }],
  };
}

export function onRoomRemoved(state: LiveState, removed: RoomRemoved): Step {
  return {
    state: {
      ...state,
      rooms: without(state.rooms, removed.room),
      unread: without(state.unread, removed.room),
      mentions: without(state.mentions, removed.room),
      readPositions: without(state.readPositions, removed.room),
      receipts: without(state.receipts, removed.room),
      latest: without(state.latest, removed.room),
      typing: without(state.typing, removed.room),
      pending: state.pending.filter((p) => p.room !== removed.room),
      openRoom: state.openRoom === removed.room ? null : state.openRoom,
    },
    effects: [
      { type: 'rooms_changed' },
      { type: 'room_removed', room: removed.room, reason: removed.reason },
    ],
  };
}

/** The answer to a gap's `history` request. */
export function onFillPage(
  state: LiveState,
  room: RoomId,
  page: Pick<MessagesPage, 'messages' | 'has_newer'>,
): Step {
  const timeline = state.rooms[room];
  if (!timeline) return same(state);
  return absorb(state, room, applyFillPage(timeline, room, page, state.me));
}

export function onLatestPage(
  state: LiveState,
  room: RoomId,
  page: MessagesPage,
  generation: number,
): Step {
  const timeline = state.rooms[room] ?? newTimeline(null);
  const next = applyLatestPage(timeline, page, generation);
  return same({ ...state, rooms: { ...state.rooms, [room]: next } });
}

export function onOlderPage(
  state: LiveState,
  room: RoomId,
  page: MessagesPage,
  generation: number,
): Step {
  const timeline = state.rooms[room];
  if (!timeline) return same(state);
  const next = applyOlderPage(timeline, page, generation);
  return same({ ...state, rooms: { ...state.rooms, [room]: next } });
}

/** The socket closed: gaps are left to the resume, unacknowledged sends go again, and
 * who was typing is forgotten (their `stop` would not reach us). */
export function onDisconnected(state: LiveState): Step {
  const rooms: Record<RoomId, RoomTimeline> = {};
  for (const [room, timeline] of Object.entries(state.rooms)) rooms[room] = abandonFill(timeline);
  return same({ ...state, rooms, pending: requeueUnacknowledged(state.pending), typing: {} });
}

/** Presence of followed users: the answer to `presence.subscribe`, and changes since. */
export function onPresence(state: LiveState, frame: PresenceList): Step {
  if (frame.users.length === 0) return same(state);
  const presence = { ...state.presence };
  for (const view of frame.users) presence[view.user_id] = view;
  return same({ ...state, presence });
}

/** Someone else started or stopped writing in one of the user's rooms. */
export function onTyping(state: LiveState, frame: Typing, now: number): Step {
  if (!(frame.room in state.rooms) || frame.user_id === state.me) return same(state);
  return same({ ...state, typing: applyTyping(state.typing, frame, now, state.typingTimeoutMs) });
}

export function onQueued(state: LiveState, send: PendingSend): Step {
  return same({ ...state, pending: [...state.pending, send] });
}

export function onWritten(state: LiveState, clientMsgIds: readonly string[]): Step {
  return same({ ...state, pending: markSending(state.pending, clientMsgIds) });
}

export function onRetry(state: LiveState, clientMsgId: string): Step {
  return same({ ...state, pending: retrySend(state.pending, clientMsgId) });
}

export function onDiscard(state: LiveState, clientMsgId: string): Step {
  return same({ ...state, pending: discardSend(state.pending, clientMsgId) });
}

export function onOpenRoom(state: LiveState, room: RoomId | null): Step {
  if (room === null) return same({ ...state, openRoom: null });
  return same({
    ...state,
    openRoom: room,
    unread: without(state.unread, room),
    mentions: without(state.mentions, room),
  });
}
