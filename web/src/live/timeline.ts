// One room as this client holds it: where its live stream stands (the cursor `auth.resume`
// reports), the messages loaded so far, and a gap being filled. Pure functions only; the
// socket code around them is thin (docs/protocol.md, "Positions" and "Resume rules").

import type {
  Entry,
  MessageView,
  MessagesPage,
  Position,
  ReactionView,
  RoomId,
  ServerFrame,
  ThreadSummary,
  UserId,
} from '@protocol';
import { positionOf, succession } from './position';

/** Every room event the server sends: the frames with a position and an `at`. */
export type RoomEntry = Extract<ServerFrame, Entry<object>>;

/** A gap in the live stream being filled from history. */
export interface Fill {
  /** Where history is asked from (exclusive): the cursor, then the last message received. */
  after: Position;
  /** Entries that arrived after the gap, in order, applied once the gap is filled. */
  held: RoomEntry[];
}

export interface RoomTimeline {
  /**
   * The last entry applied from the live stream, what `auth.resume` sends after a
   * reconnect. While a gap is filled it stays before the gap, so a reconnect asks the
   * server for exactly what is missing. Null until the server said where the room stands.
   */
  cursor: Position | null;
  /** Loaded messages, oldest first, each once. */
  messages: MessageView[];
  /** The newest page was loaded since the last reset; a room view loads it when false. */
  loaded: boolean;
  /** Older messages may exist before the first loaded one. */
  hasOlder: boolean;
  /** Counts resets: a page asked for before a reset is dropped when it arrives. */
  generation: number;
  fill: Fill | null;
}

export type TimelineEffect =
  /** Ask `history` with `after` this position (the `fill` of the room). */
  | { type: 'fill'; room: RoomId; after: Position }
  /** The room's members changed, or may have (events missed): reload them. */
  | { type: 'members_changed'; room: RoomId }
  /** The room's details (name, topic, member count) changed, or may have. */
  | { type: 'details_changed'; room: RoomId };

export interface TimelineStep {
  timeline: RoomTimeline;
  effects: TimelineEffect[];
  /** The entries applied by this step, in order (pending sends and unread counts use them). */
  applied: RoomEntry[];
}

export function newTimeline(cursor: Position | null): RoomTimeline {
  return { cursor, messages: [], loaded: false, hasOlder: true, generation: 0, fill: null };
}

/** The room as after an epoch change: nothing loaded, the cursor where the server says. */
export function resetTimeline(timeline: RoomTimeline, cursor: Position): RoomTimeline {
  return {
    cursor,
    messages: [],
    loaded: false,
    hasOlder: true,
    generation: timeline.generation + 1,
    fill: null,
  };
}

/**
 * Adds or replaces (same id) a message. Within an epoch messages are ordered by position;
 * a message of another epoch than its neighbours goes after them, since epochs have no order.
 */
export function insertMessage(
  messages: readonly MessageView[],
  message: MessageView,
): MessageView[] {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.id === message.id) {
      const copy = messages.slice();
      copy[i] = message;
      return copy;
    }
  }
  let at = messages.length;
  while (at > 0) {
    const before = messages[at - 1]!;
    if (before.epoch !== message.epoch || before.position < message.position) break;
    at--;
  }
  return [...messages.slice(0, at), message, ...messages.slice(at)];
}

function mergeMessages(
  messages: readonly MessageView[],
  incoming: readonly MessageView[],
): MessageView[] {
  return incoming.reduce<MessageView[]>(insertMessage, messages.slice());
}

function updateMessage(
  messages: MessageView[],
  id: string,
  change: (message: MessageView) => MessageView,
): MessageView[] {
  const at = messages.findIndex((m) => m.id === id);
  if (at < 0) return messages;
  const copy = messages.slice();
  copy[at] = change(copy[at]!);
  return copy;
}

const unchanged = (timeline: RoomTimeline): TimelineStep => ({
  timeline,
  effects: [],
  applied: [],
});

/**
 * Applies one live entry: in position order, each position once. A duplicate or older
 * entry is dropped; an entry after a gap is held and the gap filled from history first;
 * an entry of another epoch resets the room (the server announces a real epoch change
 * with `resync`, so this is the fallback).
 */
export function applyEntry(
  timeline: RoomTimeline,
  entry: RoomEntry,
  me: UserId | null = null,
): TimelineStep {
  if (timeline.fill) {
    return unchanged({ ...timeline, fill: hold(timeline.fill, entry) });
  }
  const cursor = timeline.cursor;
  const order = cursor === null ? 'next' : succession(cursor, entry);
  switch (order) {
    case 'seen':
      return unchanged(timeline);
    case 'next':
      return applyNext(timeline, entry, me);
    case 'gap': {
      const after = cursor!;
      return {
        timeline: { ...timeline, fill: { after, held: [entry] } },
        effects: [{ type: 'fill', room: entry.room, after }],
        applied: [],
      };
    }
    case 'epoch': {
      const reset = resetTimeline(timeline, { epoch: entry.epoch, position: entry.position - 1 });
      const step = applyNext(reset, entry, me);
      return { ...step, effects: [...changedAll(entry.room), ...step.effects] };
    }
  }
}

function hold(fill: Fill, entry: RoomEntry): Fill {
  const last = fill.held[fill.held.length - 1];
  if (last && last.epoch === entry.epoch && entry.position <= last.position) return fill;
  return { ...fill, held: [...fill.held, entry] };
}

function changedAll(room: RoomId): TimelineEffect[] {
  return [
    { type: 'members_changed', room },
    { type: 'details_changed', room },
  ];
}

function applyNext(timeline: RoomTimeline, entry: RoomEntry, me: UserId | null): TimelineStep {
  const next: RoomTimeline = { ...timeline, cursor: positionOf(entry) };
  const effects: TimelineEffect[] = [];
  switch (entry.type) {
    case 'message.created': {
      next.messages = insertMessage(timeline.messages, entry.message);
      const root = entry.message.thread_root;
      if (root) {
        next.messages = updateMessage(next.messages, root, (m) => ({
          ...m,
          thread: withThreadReply(m.thread, entry.message),
        }));
      }
      break;
    }
    case 'message.edited':
      next.messages = updateMessage(timeline.messages, entry.message_id, (m) => ({
        ...m,
        content: entry.content,
        edited_at: entry.edited_at,
      }));
      break;
    case 'message.deleted':
      next.messages = updateMessage(timeline.messages, entry.message_id, (m) => ({
        ...m,
        content: '',
        deleted_at: entry.deleted_at,
        reactions: [],
      }));
      break;
    case 'reaction.added':
    case 'reaction.removed': {
      const added = entry.type === 'reaction.added';
      next.messages = updateMessage(timeline.messages, entry.message_id, (m) => ({
        ...m,
        reactions: withReaction(m.reactions, entry.emoji, added, entry.user_id === me),
      }));
      break;
    }
    case 'member.joined':
    case 'member.left':
    case 'member.invited':
    case 'member.kicked':
    case 'member.banned':
    case 'member.unbanned':
    case 'member.role_changed':
      effects.push(...changedAll(entry.room));
      break;
    case 'room.updated':
      effects.push({ type: 'details_changed', room: entry.room });
      break;
    case 'room.created':
    case 'room.deleted':
      // `room.deleted` is followed by `room.removed`, which drops the room.
      break;
  }
  return { timeline: next, effects, applied: [entry] };
}

/** A thread's summary once `reply` joined it. */
export function withThreadReply(thread: ThreadSummary | null, reply: MessageView): ThreadSummary {
  const participants = thread?.participants ?? [];
  return {
    reply_count: (thread?.reply_count ?? 0) + 1,
    last_reply_at: reply.sent_at,
    participants:
      participants.includes(reply.sender_id) || participants.length >= 5
        ? participants
        : [...participants, reply.sender_id],
  };
}

/** The reactions once one person's `emoji` is added or removed (`mine`: the reader's). */
export function withReaction(
  reactions: readonly ReactionView[],
  emoji: string,
  added: boolean,
  mine: boolean,
): ReactionView[] {
  const at = reactions.findIndex((r) => r.emoji === emoji);
  if (at < 0) return added ? [...reactions, { emoji, count: 1, me: mine }] : reactions.slice();
  const current = reactions[at]!;
  const count = current.count + (added ? 1 : -1);
  const copy = reactions.slice();
  if (count <= 0) copy.splice(at, 1);
  else copy[at] = { emoji, count, me: mine ? added : current.me };
  return copy;
}

/**
 * Takes the answer to a gap's `history` request. Asks again while history has more
 * before the first held entry; then moves the cursor to just before it and applies the
 * held entries. Positions history could not account for were events other than
 * messages (or not yet in history): members and details are reloaded in case.
 */
export function applyFillPage(
  timeline: RoomTimeline,
  room: RoomId,
  page: Pick<MessagesPage, 'messages' | 'has_newer'>,
  me: UserId | null = null,
): TimelineStep {
  const messages = mergeMessages(timeline.messages, page.messages);
  const fill = timeline.fill;
  if (!fill) return unchanged({ ...timeline, messages });
  const first = fill.held[0]!;
  const last = page.messages[page.messages.length - 1];
  if (
    page.has_newer &&
    last &&
    last.epoch === first.epoch &&
    last.position < first.position - 1
  ) {
    const after = positionOf(last);
    return {
      timeline: { ...timeline, messages, fill: { ...fill, after } },
      effects: [{ type: 'fill', room, after }],
      applied: [],
    };
  }
  const from = timeline.cursor;
  const missing = from === null || missingPositions(messages, from, first) > 0;
  let step: TimelineStep = {
    timeline: {
      ...timeline,
      messages,
      fill: null,
      cursor: { epoch: first.epoch, position: first.position - 1 },
    },
    effects: missing ? changedAll(room) : [],
    applied: [],
  };
  for (const entry of fill.held) {
    const next = applyEntry(step.timeline, entry, me);
    step = {
      timeline: next.timeline,
      effects: [...step.effects, ...next.effects],
      applied: [...step.applied, ...next.applied],
    };
  }
  return step;
}

/** Positions strictly between `from` and `until` that no loaded message holds. */
function missingPositions(
  messages: readonly MessageView[],
  from: Position,
  until: Position,
): number {
  if (from.epoch !== until.epoch) return Number.POSITIVE_INFINITY;
  const expected = until.position - from.position - 1;
  const present = messages.filter(
    (m) => m.epoch === until.epoch && m.position > from.position && m.position < until.position,
  ).length;
  return expected - present;
}

/** Forgets a gap being filled (the socket closed): the resume asks for it exactly. */
export function abandonFill(timeline: RoomTimeline): RoomTimeline {
  return timeline.fill ? { ...timeline, fill: null } : timeline;
}

/** A `resync`: the room starts over at the given position and its history is reloaded. */
export function applyResync(timeline: RoomTimeline, room: RoomId, at: Position): TimelineStep {
  return { timeline: resetTimeline(timeline, positionOf(at)), effects: changedAll(room), applied: [] };
}

/** Merges the newest page (REST, no bounds) loaded for the given generation. */
export function applyLatestPage(
  timeline: RoomTimeline,
  page: MessagesPage,
  generation: number,
): RoomTimeline {
  if (generation !== timeline.generation) return timeline;
  const messages = mergeMessages(timeline.messages, page.messages);
  const oldest = messages[0];
  const oldestFromPage = oldest !== undefined && page.messages.some((m) => m.id === oldest.id);
  return {
    ...timeline,
    messages,
    loaded: true,
    hasOlder: oldestFromPage || oldest === undefined ? page.has_older : true,
  };
}

/** Merges a page of older messages (`before` the oldest loaded) loaded for the given generation. */
export function applyOlderPage(
  timeline: RoomTimeline,
  page: MessagesPage,
  generation: number,
): RoomTimeline {
  if (generation !== timeline.generation) return timeline;
  return {
    ...timeline,
    messages: mergeMessages(timeline.messages, page.messages),
    hasOlder: page.has_older,
  };
}
