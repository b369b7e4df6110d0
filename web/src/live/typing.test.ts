import { describe, expect, it } from 'vitest';
import { applyTyping, messageFrom, typingSentence, typistsIn, TypingReporter, type TypingBoard } from './typing';

const ROOM = 'room-1';

describe('who is typing', () => {
  it('counts a start until the timeout, ends it on stop or on a message', () => {
    let board: TypingBoard = {};
    board = applyTyping(board, { room: ROOM, user_id: 'ada', state: 'start' }, 1_000, 6_000);
    board = applyTyping(board, { room: ROOM, user_id: 'grace', state: 'start' }, 2_000, 6_000);
    expect(typistsIn(board, ROOM, 3_000)).toEqual(['ada', 'grace']);
    expect(typistsIn(board, ROOM, 7_500)).toEqual(['grace']);
    board = applyTyping(board, { room: ROOM, user_id: 'grace', state: 'stop' }, 3_000, 6_000);
    expect(typistsIn(board, ROOM, 3_000)).toEqual(['ada']);
    board = messageFrom(board, ROOM, 'ada');
    expect(typistsIn(board, ROOM, 3_000)).toEqual([]);
    expect(board).toEqual({});
  });

  it('says it in a sentence', () => {
    expect(typingSentence([])).toBeNull();
    expect(typingSentence(['Ada'])).toBe('Ada is typing…');
    expect(typingSentence(['Ada', 'Grace'])).toBe('Ada and Grace are typing…');
    expect(typingSentence(['Ada', 'Grace', 'Linus'])).toBe('Several people are typing…');
  });
});

describe('saying that one types', () => {
  it('starts, renews no more often than asked, and stops when the text is cleared', () => {
    const reporter = new TypingReporter(() => 3_000);
    expect(reporter.changed('h', 0 + 1)).toBe('start');
    expect(reporter.changed('he', 1_000)).toBeNull();
    expect(reporter.changed('hel', 3_001)).toBe('start');
    expect(reporter.changed('', 3_500)).toBe('stop');
    expect(reporter.changed('', 3_600)).toBeNull();
    expect(reporter.stopped()).toBeNull();
  });

  it('needs no stop after a send, and starts again at once', () => {
    const reporter = new TypingReporter(() => 3_000);
    reporter.changed('hi', 10);
    reporter.sent();
    expect(reporter.stopped()).toBeNull();
    expect(reporter.changed('next', 20)).toBe('start');
  });
});
