import { describe, expect, it } from 'vitest';
import { ROOM } from '../test/frames';
import { roomInView } from './focus';

describe('the room in view', () => {
  const cases: [string, string | null, DocumentVisibilityState, string | null][] = [
    ['a room shown in a visible page', ROOM, 'visible', ROOM],
    ['a room shown in a hidden page', ROOM, 'hidden', null],
    ['no room shown (home)', null, 'visible', null],
    ['no room shown, hidden', null, 'hidden', null],
  ];
  it.each(cases)('%s', (_, shown, visibility, expected) => {
    expect(roomInView(shown, visibility)).toBe(expected);
  });
});
