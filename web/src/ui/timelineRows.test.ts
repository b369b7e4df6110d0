import { describe, expect, it } from 'vitest';
import { ALICE, ME, ROOM, message } from '../test/frames';
import { newPending } from '../live/pending';
import { nextFirstItemIndex, timelineRows } from './timelineRows';

const NOW = new Date('2026-11-21T12:00:00');
const local = (text: string) => new Date(text).toISOString();

describe('timeline rows', () => {
  it('separates days and groups consecutive messages of one sender', () => {
    const rows = timelineRows(
      [
        message(1, { sent_at: local('2026-11-20T09:00:00') }),
        message(2, { sent_at: local('2026-11-21T09:00:00') }),
        message(3, { sent_at: local('2026-11-21T09:01:00') }),
        message(4, { sent_at: local('2026-11-21T09:30:00') }),
        message(5, { sent_at: local('2026-11-21T09:31:00'), sender_id: ME }),
      ],
      [],
      ME,
      NOW,
    );
    const shape = rows.map((r) => (r.kind === 'day' ? r.label : `${r.kind}${r.grouped ? '+' : ''}`));
    expect(shape).toEqual([
      'Yesterday',
      'message',
      'Today',
      'message',
      'message+',
      'message',
      'message',
    ]);
  });

  it('puts pending sends last, grouped with one\u2019s own last message', () => {
    const rows = timelineRows(
      [message(1, { sent_at: local('2026-11-21T11:59:00'), sender_id: ME })],
      [newPending(ROOM, 'hi', 'p1', NOW)],
      ME,
      NOW,
    );
    expect(rows.map((r) => r.key)).toEqual([expect.stringMatching(/^day:/), `m:m-${1763712000123}-1`, 'p:p1']);
    expect(rows[2]).toMatchObject({ kind: 'pending', grouped: true });
  });

  it('moves the first index down by the rows added above', () => {
    const before = timelineRows([message(5), message(6)], [], ALICE, NOW);
    const after = timelineRows([message(3), message(4), message(5), message(6)], [], ALICE, NOW);
    const first = nextFirstItemIndex(null, before, 1000);
    expect(first).toBe(1000);
    const anchor = { firstItemIndex: first, anchorKey: before[1]!.key, anchorIndex: 1 };
    expect(nextFirstItemIndex(anchor, after, 1000)).toBe(998);
  });
});
