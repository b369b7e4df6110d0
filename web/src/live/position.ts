// Positions as the protocol defines them (docs/protocol.md, "Positions"): dense within an
// epoch, and no order at all between two epochs.

import type { HistoryCursor, Position } from '@protocol';

/** Where a client stands before it has seen anything of a room. */
export const NOTHING_SEEN: Position = { epoch: 0, position: 0 };

/** The position part of anything positioned (an entry, an ack, a `resync`, ...). */
export function positionOf(at: Position): Position {
  return { epoch: at.epoch, position: at.position };
}

export function samePosition(a: Position, b: Position): boolean {
  return a.epoch === b.epoch && a.position === b.position;
}

/**
 * Where `entry` stands relative to `cursor`, the last entry applied:
 * `next` follows it directly, `seen` is at or before it (a duplicate), `gap` leaves out
 * at least one entry, `epoch` belongs to another epoch (any other epoch is a new one,
 * whether its number sorts after the old one or not).
 */
export type Succession = 'next' | 'seen' | 'gap' | 'epoch';

export function succession(cursor: Position, entry: Position): Succession {
  if (cursor.epoch === 0) {
    // Nothing seen yet: the room's first entry, of whatever epoch, comes next.
    return entry.position === 1 ? 'next' : 'gap';
  }
  if (entry.epoch !== cursor.epoch) return 'epoch';
  if (entry.position <= cursor.position) return 'seen';
  return entry.position === cursor.position + 1 ? 'next' : 'gap';
}

/**
 * A position as `history` frames and `?before=` / `?after=` take it: `<epoch>:<position>`,
 * or a bare position (the room's current epoch) when no epoch is known yet.
 */
export function historyCursor(at: Position): HistoryCursor {
  return at.epoch === 0 ? at.position : `${at.epoch}:${at.position}`;
}
