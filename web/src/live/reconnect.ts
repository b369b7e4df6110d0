// What to do when the socket closes, by close code (docs/protocol.md, "Close codes"),
// and how long to wait before the next attempt.

import { Disconnect } from '@protocol';

/**
 * The close codes a client acts on, named for what it does: the server's come from the
 * protocol crate (`Disconnect`), 1006 is the browser's own (no close frame at all).
 */
export const CloseCode = {
  normal: Disconnect.Normal.code,
  /** No close frame: the network dropped, or the server could not write to us. */
  abnormal: 1006,
  messageTooBig: Disconnect.MessageTooBig.code,
  internal: Disconnect.PositionsUnavailable.code,
  restarting: Disconnect.Restart.code,
  unauthenticated: Disconnect.TokenRefused.code,
  tokenExpired: Disconnect.TokenExpired.code,
  slowConsumer: Disconnect.SlowConsumer.code,
  tooManyConnections: Disconnect.TooManyConnections.code,
  heartbeatTimeout: Disconnect.HeartbeatTimeout.code,
} as const;

export type CloseDecision =
  | { action: 'reconnect'; delayMs: number }
  /** 4002: the access token expired on the socket: refresh it, then reconnect at once. */
  | { action: 'refresh_then_reconnect' }
  /** 4001: the server does not accept this session: sign in again. */
  | { action: 'sign_in' }
  /** Reconnecting would fail the same way; wait for the user. */
  | { action: 'stop'; reason: 'too_many_connections' | 'client_bug' };

export interface Backoff {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 500, capMs: 30_000 };

/**
 * Exponential backoff with jitter: attempt 0 waits up to `baseMs`, each further attempt
 * up to twice as long, at most `capMs`; the wait is drawn from the upper half of that
 * range, so clients dropped together do not come back together.
 */
export function backoffDelay(
  attempt: number,
  random: () => number = Math.random,
  backoff: Backoff = DEFAULT_BACKOFF,
): number {
  const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Jitter for "reconnect at once" (1012, a `reconnect` frame): a gateway's clients spread out. */
const RESTART_JITTER_MS = 500;

/**
 * The decision for a close with `code` after `attempt` failed attempts in a row.
 * `retryAfterMs` is what a `reconnect` frame asked for, when one came before the close.
 */
export function decideClose(
  code: number,
  attempt: number,
  retryAfterMs: number | null = null,
  random: () => number = Math.random,
): CloseDecision {
  if (retryAfterMs !== null || code === CloseCode.restarting) {
    return {
      action: 'reconnect',
      delayMs: (retryAfterMs ?? 0) + Math.round(random() * RESTART_JITTER_MS),
    };
  }
  switch (code) {
    case CloseCode.unauthenticated:
      return { action: 'sign_in' };
    case CloseCode.tokenExpired:
      return { action: 'refresh_then_reconnect' };
    case CloseCode.tooManyConnections:
      return { action: 'stop', reason: 'too_many_connections' };
    case CloseCode.messageTooBig:
      return { action: 'stop', reason: 'client_bug' };
    default:
      // 1000 from the server, 1006, 1011, 4003, 4005 and anything unknown: the session can
      // go on from the positions this client holds.
      return { action: 'reconnect', delayMs: backoffDelay(attempt, random) };
  }
}
