import { describe, expect, it } from 'vitest';
import { ALICE, EPOCH, ME, ROOM, created, joined, message } from '../test/frames';
import {
  applyEntry,
  applyFillPage,
  applyLatestPage,
  applyOlderPage,
  applyResync,
  insertMessage,
  newTimeline,
  type RoomEntry,
  type RoomTimeline,
  type TimelineEffect,
  withReaction,
  withThreadReply,
} from './timeline';

const at = (position: number, epoch = EPOCH) => ({ epoch, position });

function applyAll(timeline: RoomTimeline, entries: RoomEntry[]) {
  const effects: TimelineEffect[] = [];
  for (const entry of entries) {
    const step = applyEntry(timeline, entry);
    timeline = step.timeline;
    effects.push(...step.effects);
  }
  return { timeline, effects };
}

const positions = (timeline: RoomTimeline) => timeline.messages.map((m) => m.position);

describe('applying live entries', () => {
  it('applies entries in position order and moves the cursor', () => {
    const { timeline, effects } = applyAll(newTimeline(at(10)), [
      created(11),
      created(12),
      created(13),
    ]);
    expect(timeline.cursor).toEqual(at(13));
    expect(positions(timeline)).toEqual([11, 12, 13]);
    expect(effects).toEqual([]);
  });

  it.each([
    ['the same position again', [created(11), created(12), created(12)]],
    ['an older position', [created(11), created(12), created(11)]],
    ['a position at the cursor', [created(10), created(11), created(12)]],
  ])('drops %s', (_case, entries) => {
    const { timeline } = applyAll(newTimeline(at(10)), entries);
    expect(timeline.cursor).toEqual(at(12));
    expect(positions(timeline)).toEqual([11, 12]);
  });

  it('takes any epoch from position 1 in a room where nothing was seen yet', () => {
    const { timeline } = applyAll(newTimeline(at(0, 0)), [created(1), created(2)]);
    expect(timeline.cursor).toEqual(at(2));
  });

  it('counts entries other than messages as positions', () => {
    const { timeline, effects } = applyAll(newTimeline(at(10)), [joined(11), created(12)]);
    expect(timeline.cursor).toEqual(at(12));
    expect(positions(timeline)).toEqual([12]);
    expect(effects).toEqual([
      { type: 'members_changed', room: ROOM },
      { type: 'details_changed', room: ROOM },
    ]);
  });

  it('edits and deletes loaded messages', () => {
    let { timeline } = applyAll(newTimeline(at(10)), [created(11)]);
    const id = timeline.messages[0]!.id;
    timeline = applyEntry(timeline, {
      type: 'message.edited',
      room: ROOM,
      epoch: EPOCH,
      position: 12,
      id: 'e12',
      at: null,
      message_id: id,
      content: 'edited',
      edited_at: '2026-11-21T06:01:00.000Z',
      mentions: [],
      mentions_room: false,
    }).timeline;
    expect(timeline.messages[0]).toMatchObject({ content: 'edited', edited_at: '2026-11-21T06:01:00.000Z' });
    timeline = applyEntry(timeline, {
      type: 'message.deleted',
      room: ROOM,
      epoch: EPOCH,
      position: 13,
      id: 'e13',
      at: null,
      message_id: id,
      deleted_at: '2026-11-21T06:02:00.000Z',
    }).timeline;
    expect(timeline.messages[0]).toMatchObject({ content: '', deleted_at: '2026-11-21T06:02:00.000Z' });
    expect(timeline.cursor).toEqual(at(13));
  });
});

describe('a gap in the live stream', () => {
  it('holds the entry, keeps the cursor before the gap and asks history after it', () => {
    const { timeline, effects } = applyAll(newTimeline(at(10)), [created(11), created(14)]);
    expect(timeline.cursor).toEqual(at(11));
    expect(positions(timeline)).toEqual([11]);
    expect(timeline.fill?.held.map((e) => e.position)).toEqual([14]);
    expect(effects).toEqual([{ type: 'fill', room: ROOM, after: at(11) }]);
  });

  it('holds later entries in order while filling, once each', () => {
    const { timeline, effects } = applyAll(newTimeline(at(10)), [
      created(13),
      created(14),
      created(14),
      created(15),
    ]);
    expect(timeline.fill?.held.map((e) => e.position)).toEqual([13, 14, 15]);
    expect(effects).toHaveLength(1);
  });

  it('merges the fill, then applies the held entries', () => {
    const gap = applyAll(newTimeline(at(10)), [created(13), created(14)]).timeline;
    const step = applyFillPage(gap, ROOM, {
      messages: [message(11), message(12)],
      has_newer: true,
    });
    expect(step.timeline.fill).toBeNull();
    expect(step.timeline.cursor).toEqual(at(14));
    expect(positions(step.timeline)).toEqual([11, 12, 13, 14]);
    expect(step.effects).toEqual([]);
    expect(step.applied.map((e) => e.position)).toEqual([13, 14]);
  });

  it('asks again while history has more before the held entries', () => {
    const gap = applyAll(newTimeline(at(10)), [created(200)]).timeline;
    const page = Array.from({ length: 100 }, (_, i) => message(11 + i));
    const step = applyFillPage(gap, ROOM, { messages: page, has_newer: true });
    expect(step.effects).toEqual([{ type: 'fill', room: ROOM, after: at(110) }]);
    expect(step.timeline.cursor).toEqual(at(10));
    expect(step.timeline.fill?.after).toEqual(at(110));
  });

  it('reloads members and details when positions in the gap were not messages', () => {
    const gap = applyAll(newTimeline(at(10)), [created(14)]).timeline;
    const step = applyFillPage(gap, ROOM, { messages: [message(13)], has_newer: true });
    expect(step.timeline.cursor).toEqual(at(14));
    expect(step.effects).toEqual([
      { type: 'members_changed', room: ROOM },
      { type: 'details_changed', room: ROOM },
    ]);
  });

  it('fills a second gap among the held entries', () => {
    const gap = applyAll(newTimeline(at(10)), [created(12), created(15)]).timeline;
    const step = applyFillPage(gap, ROOM, { messages: [message(11)], has_newer: true });
    expect(step.timeline.cursor).toEqual(at(12));
    expect(step.timeline.fill?.held.map((e) => e.position)).toEqual([15]);
    expect(step.effects).toEqual([{ type: 'fill', room: ROOM, after: at(12) }]);
  });
});

describe('epochs', () => {
  it('a resync resets the room: nothing loaded, the cursor where the server says', () => {
    const loaded = applyLatestPage(
      applyAll(newTimeline(at(10)), [created(11), created(13)]).timeline,
      { messages: [message(9), message(10)], has_older: true, has_newer: false },
      0,
    );
    const step = applyResync(loaded, ROOM, at(0, EPOCH + 1));
    expect(step.timeline).toMatchObject({
      cursor: at(0, EPOCH + 1),
      messages: [],
      loaded: false,
      fill: null,
      generation: 1,
    });
    const next = applyEntry(step.timeline, created(1, { epoch: EPOCH + 1 }));
    expect(next.timeline.cursor).toEqual(at(1, EPOCH + 1));
  });

  it('drops a page asked for before the reset', () => {
    const reset = applyResync(newTimeline(at(10)), ROOM, at(5, EPOCH + 1)).timeline;
    const page = { messages: [message(9)], has_older: false, has_newer: false };
    expect(applyLatestPage(reset, page, 0)).toBe(reset);
    expect(applyOlderPage(reset, page, 0)).toBe(reset);
  });

  it('an entry of another epoch without a resync resets the room too (an older-looking epoch included)', () => {
    const before = applyAll(newTimeline(at(10)), [created(11)]).timeline;
    const step = applyEntry(before, created(3, { epoch: EPOCH - 5000 }));
    expect(step.timeline.cursor).toEqual(at(3, EPOCH - 5000));
    expect(step.timeline.generation).toBe(1);
    expect(positions(step.timeline)).toEqual([3]);
    expect(step.effects.map((e) => e.type)).toEqual(['members_changed', 'details_changed']);
  });
});

describe('pages and messages', () => {
  it('orders by position within an epoch and replaces by id', () => {
    let messages = [message(1), message(3)];
    messages = insertMessage(messages, message(2));
    messages = insertMessage(messages, { ...message(3), content: 'again' });
    expect(messages.map((m) => [m.position, m.content])).toEqual([
      [1, 'message 1'],
      [2, 'message 2'],
      [3, 'again'],
    ]);
  });

  it('puts a message of another epoch after its neighbours', () => {
    const messages = insertMessage([message(5), message(6)], message(1, { epoch: EPOCH + 1 }));
    expect(messages.map((m) => m.position)).toEqual([5, 6, 1]);
  });

  it('merges the newest page with live messages without duplicates', () => {
    const live = applyAll(newTimeline(at(20)), [created(21), created(22)]).timeline;
    const page = {
      messages: [message(19), message(20), message(21)],
      has_older: true,
      has_newer: false,
    };
    const timeline = applyLatestPage(live, page, 0);
    expect(positions(timeline)).toEqual([19, 20, 21, 22]);
    expect(timeline).toMatchObject({ loaded: true, hasOlder: true });
  });

  it('knows a room without messages has nothing older', () => {
    const timeline = applyLatestPage(
      newTimeline(at(0, 0)),
      { messages: [], has_older: false, has_newer: false },
      0,
    );
    expect(timeline).toMatchObject({ loaded: true, hasOlder: false });
  });

  it('prepends older pages', () => {
    const timeline = applyOlderPage(
      applyLatestPage(
        newTimeline(at(20)),
        { messages: [message(19), message(20)], has_older: true, has_newer: false },
        0,
      ),
      { messages: [message(17), message(18)], has_older: false, has_newer: true },
      0,
    );
    expect(positions(timeline)).toEqual([17, 18, 19, 20]);
    expect(timeline.hasOlder).toBe(false);
  });
});

describe('reactions heard live', () => {
  const reaction = (position: number, type: 'reaction.added' | 'reaction.removed', user: string, emoji = '👍'): RoomEntry => ({
    type,
    room: ROOM,
    epoch: EPOCH,
    position,
    id: `r${position}`,
    at: '2026-11-21T06:00:00.000Z',
    message_id: message(1).id,
    emoji,
    user_id: user,
  });

  it('count each person once, mark the reader\'s own, and drop an emoji nobody gives any more', () => {
    let timeline = applyEntry(newTimeline(null), created(1)).timeline;
    timeline = applyEntry(timeline, reaction(2, 'reaction.added', ALICE), ME).timeline;
    timeline = applyEntry(timeline, reaction(3, 'reaction.added', ME), ME).timeline;
    timeline = applyEntry(timeline, reaction(4, 'reaction.added', ALICE, '🎉'), ME).timeline;
    expect(timeline.messages[0]!.reactions).toEqual([
      { emoji: '👍', count: 2, me: true },
      { emoji: '🎉', count: 1, me: false },
    ]);
    timeline = applyEntry(timeline, reaction(5, 'reaction.removed', ME), ME).timeline;
    timeline = applyEntry(timeline, reaction(6, 'reaction.removed', ALICE, '🎉'), ME).timeline;
    expect(timeline.messages[0]!.reactions).toEqual([{ emoji: '👍', count: 1, me: false }]);
  });

  it('leave nothing on a deleted message', () => {
    expect(withReaction([{ emoji: '👍', count: 1, me: true }], '👍', false, true)).toEqual([]);
    expect(withReaction([], '👍', false, false)).toEqual([]);
  });
});

describe('threads heard live', () => {
  it('count each reply on its root, naming the first five repliers once', () => {
    let timeline = applyEntry(newTimeline(null), created(1)).timeline;
    const root = message(1).id;
    timeline = applyEntry(timeline, created(2, { thread_root: root, sender_id: ALICE })).timeline;
    timeline = applyEntry(timeline, created(3, { thread_root: root, sender_id: ME })).timeline;
    timeline = applyEntry(timeline, created(4, { thread_root: root, sender_id: ALICE })).timeline;
    expect(timeline.messages[0]!.thread).toEqual({
      reply_count: 3,
      last_reply_at: message(4).sent_at,
      participants: [ALICE, ME],
    });
    expect(withThreadReply(null, message(5)).reply_count).toBe(1);
  });
});
