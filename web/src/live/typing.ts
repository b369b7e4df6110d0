// Who is writing in which room, from the server's `typing` frames, and when the user's
// own client should say so. Pure: the connection and the composer call these.

import type { RoomId, Typing, UserId } from '@protocol';

/** Per room, who is typing and until when (ms since 1970) unless renewed. */
export type TypingBoard = Record<RoomId, Record<UserId, number>>;

/** Used until `ready` says otherwise. */
export const DEFAULT_TYPING = { renewMs: 3_000, timeoutMs: 6_000 };

function withoutUser(board: TypingBoard, room: RoomId, user: UserId): TypingBoard {
  const inRoom = board[room];
  if (!inRoom || !(user in inRoom)) return board;
  const rest = { ...inRoom };
  delete rest[user];
  const next = { ...board };
  if (Object.keys(rest).length === 0) delete next[room];
  else next[room] = rest;
  return next;
}

/** A `typing` frame. A `start` counts until the timeout unless renewed or stopped. */
export function applyTyping(board: TypingBoard, frame: Typing, now: number, timeoutMs: number): TypingBoard {
  if (frame.state === 'stop') return withoutUser(board, frame.room, frame.user_id);
  return { ...board, [frame.room]: { ...board[frame.room], [frame.user_id]: now + timeoutMs } };
}

/** A message from `user` ends their typing (the server sends no `stop` for it). */
export function messageFrom(board: TypingBoard, room: RoomId, user: UserId): TypingBoard {
  return withoutUser(board, room, user);
}

/** Who is typing in `room` at `now`, in the order they started. A `start` whose `stop`
 * never came (the socket dropped meanwhile) lapses on its own. */
export function typistsIn(board: TypingBoard, room: RoomId, now: number): UserId[] {
  return Object.entries(board[room] ?? {})
    .filter(([, until]) => until > now)
    .map(([user]) => user);
}

/** "Ada is typing…", "Ada and Grace are typing…", "Several people are typing…". */
export function typingSentence(names: readonly string[]): string | null {
  if (names.length === 0) return null;
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

/**
 * The user's own typing in one room: says `start` when writing begins and again every
 * `renewMs` while it goes on, `stop` when the text is cleared; a sent message needs no
 * `stop`. Returns the frame state to send, or null.
 */
export class TypingReporter {
  private lastStart = 0;

  constructor(private readonly renewMs: () => number) {}

  /** The text changed at `now`. */
  changed(text: string, now: number): 'start' | 'stop' | null {
    if (text.trim().length === 0) return this.stopped();
    if (this.lastStart !== 0 && now - this.lastStart < this.renewMs()) return null;
    this.lastStart = now;
    return 'start';
  }

  /** The user left the room or the field; `stop` if a `start` went out. */
  stopped(): 'stop' | null {
    if (this.lastStart === 0) return null;
    this.lastStart = 0;
    return 'stop';
  }

  /** The message went out: the server ends the typing itself. */
  sent(): void {
    this.lastStart = 0;
  }
}
