import { describe, expect, it } from 'vitest';
import { EPOCH, ROOM, message as frame } from '../test/frames';
import { mergeReads, seenBy } from './receipts';

const message = (position: number, sender: string, deleted = false) =>
  frame(position, { id: `m${position}`, sender_id: sender, deleted_at: deleted ? '2026-11-21T06:01:00.000Z' : null });

describe('read receipts', () => {
  it('only move forward within an epoch, and start again in a new one', () => {
    let board = mergeReads({}, ROOM, [{ user_id: 'bob', epoch: EPOCH, position: 5 }]);
    board = mergeReads(board, ROOM, [{ user_id: 'bob', epoch: EPOCH, position: 3 }]);
    expect(board[ROOM]?.bob).toEqual({ epoch: EPOCH, position: 5 });
    const same = mergeReads(board, ROOM, [{ user_id: 'bob', epoch: EPOCH, position: 5 }]);
    expect(same).toBe(board);
    board = mergeReads(board, ROOM, [{ user_id: 'bob', epoch: EPOCH + 1, position: 1 }]);
    expect(board[ROOM]?.bob).toEqual({ epoch: EPOCH + 1, position: 1 });
  });

  it('show each reader under the last message they have seen, not under their own', () => {
    const messages = [message(1, 'ada'), message(2, 'bob'), message(3, 'ada'), message(4, 'ada', true)];
    const seen = seenBy(
      messages,
      {
        ada: { epoch: EPOCH, position: 4 },
        bob: { epoch: EPOCH, position: 4 },
        cat: { epoch: EPOCH, position: 1 },
        dan: { epoch: EPOCH, position: 2 },
        old: { epoch: EPOCH - 1, position: 9 },
      },
      'ada',
    );
    // Bob read past the deleted message: shown under the last one that is there.
    expect(seen.get('m3')).toEqual(['bob']);
    expect(seen.get('m1')).toEqual(['cat']);
    // Dan under Bob's message, Ada (the user) nowhere, Bob not under his own.
    expect(seen.get('m2')).toEqual(['dan']);
    expect([...seen.values()].flat()).not.toContain('ada');
    expect([...seen.values()].flat()).not.toContain('old');
  });
});
