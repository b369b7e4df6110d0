// Messages this client sent that the server has not acknowledged yet. A pending send
// shows at once; its `ack` (or the `message.created` carrying its client_msg_id,
// whichever comes first) confirms it; after a reconnect it is sent again with the same
// client_msg_id, which the server answers with the original ack and never stores twice.

import type { Ack, ErrorCode, ErrorFrame, FileView, MessageId, MessageView, RoomId, UserId } from '@protocol';

export type PendingState =
  /** Waiting for the socket (offline, or a retry after `rate_limited` / `unavailable`). */
  | 'queued'
  /** Written to the socket; waiting for the `ack`. */
  | 'sending'
  /** Refused; shown with a retry button. */
  | 'failed';

export interface PendingSend {
  clientMsgId: string;
  room: RoomId;
  content: string;
  replyTo: MessageId | null;
  /** The thread it replies in. */
  threadRoot: MessageId | null;
  /** Uploaded files it carries. */
  attachments: FileView[];
  state: PendingState;
  /** When the user sent it (ISO 8601), for ordering and the day separator. */
  createdAt: string;
  /** Not sent again before this time (ms since 1970): the server asked to wait. */
  notBefore: number;
  /** Automatic retries after `rate_limited` or `unavailable`. */
  retries: number;
  error: { code: ErrorCode; message: string } | null;
}

/** Retries after which a send that keeps hitting `rate_limited` / `unavailable` fails. */
export const MAX_AUTOMATIC_RETRIES = 3;
const UNAVAILABLE_RETRY_MS = 1000;

export function newPending(
  room: RoomId,
  content: string,
  clientMsgId: string,
  now: Date,
  replyTo: MessageId | null = null,
  threadRoot: MessageId | null = null,
  attachments: FileView[] = [],
): PendingSend {
  return {
    clientMsgId,
    room,
    content,
    replyTo,
    threadRoot,
    attachments,
    state: 'queued',
    createdAt: now.toISOString(),
    notBefore: 0,
    retries: 0,
    error: null,
  };
}

/** The sends to write to the socket now (queued, and not asked to wait longer). */
export function dueSends(pending: readonly PendingSend[], now: number): PendingSend[] {
  return pending.filter((p) => p.state === 'queued' && p.notBefore <= now);
}

/** When the next queued send waiting for `notBefore` becomes due, if any. */
export function nextDue(pending: readonly PendingSend[], now: number): number | null {
  const waiting = pending.filter((p) => p.state === 'queued' && p.notBefore > now);
  return waiting.length ? Math.min(...waiting.map((p) => p.notBefore)) : null;
}

function update(
  pending: readonly PendingSend[],
  match: (p: PendingSend) => boolean,
  change: (p: PendingSend) => PendingSend,
): PendingSend[] {
  return pending.map((p) => (match(p) ? change(p) : p));
}

export function markSending(pending: readonly PendingSend[], ids: readonly string[]): PendingSend[] {
  return update(pending, (p) => ids.includes(p.clientMsgId), (p) => ({ ...p, state: 'sending' }));
}

/** The socket closed: whatever was written but not acknowledged goes again on the next one. */
export function requeueUnacknowledged(pending: readonly PendingSend[]): PendingSend[] {
  return update(pending, (p) => p.state === 'sending', (p) => ({ ...p, state: 'queued' }));
}

/** An `ack`: the matching send is confirmed and leaves the list (returned, to show it as sent). */
export function confirmByAck(
  pending: readonly PendingSend[],
  ack: Ack,
): { pending: PendingSend[]; confirmed: PendingSend | null } {
  const confirmed =
    pending.find((p) => p.clientMsgId === ack.client_msg_id && p.room === ack.room) ?? null;
  return { pending: confirmed ? pending.filter((p) => p !== confirmed) : pending.slice(), confirmed };
}

/** A `message.created` of one's own: the send it carries arrived, ack or not. */
export function confirmByMessage(
  pending: readonly PendingSend[],
  message: MessageView,
  me: UserId | null,
): PendingSend[] {
  if (message.sender_id !== me) return pending.slice();
  return pending.filter(
    (p) => !(p.clientMsgId === message.client_msg_id && p.room === message.room_id),
  );
}

/**
 * An `error` whose `ref` names a send. `rate_limited` and `unavailable` store nothing and
 * invite a retry with the same id: the send is queued again after the wait, a few times;
 * any other code fails it and the user decides.
 */
export function failBySendError(
  pending: readonly PendingSend[],
  error: ErrorFrame,
  now: number,
): PendingSend[] {
  return update(
    pending,
    (p) => p.clientMsgId === error.ref && p.state !== 'failed',
    (p) => {
      const transient = error.code === 'rate_limited' || error.code === 'unavailable';
      if (transient && p.retries < MAX_AUTOMATIC_RETRIES) {
        const wait = error.retry_after_ms ?? UNAVAILABLE_RETRY_MS;
        return { ...p, state: 'queued', notBefore: now + wait, retries: p.retries + 1 };
      }
      return { ...p, state: 'failed', error: { code: error.code, message: error.message } };
    },
  );
}

/** The user asked to try a failed send again: same client_msg_id, so never stored twice. */
export function retrySend(pending: readonly PendingSend[], clientMsgId: string): PendingSend[] {
  return update(
    pending,
    (p) => p.clientMsgId === clientMsgId && p.state === 'failed',
    (p) => ({ ...p, state: 'queued', notBefore: 0, retries: 0, error: null }),
  );
}

export function discardSend(pending: readonly PendingSend[], clientMsgId: string): PendingSend[] {
  return pending.filter((p) => p.clientMsgId !== clientMsgId);
}

/** The message as history will have it, from the send and its ack, until the event arrives. */
export function messageFromAck(send: PendingSend, ack: Ack, me: UserId): MessageView {
  return {
    id: ack.id,
    room_id: ack.room,
    sender_id: me,
    client_msg_id: send.clientMsgId,
    content: send.content,
    reply_to: send.replyTo,
    thread_root: send.threadRoot,
    thread: null,
    reply_preview: null,
    kind: 'text',
    sent_at: ack.sent_at,
    edited_at: null,
    deleted_at: null,
    reactions: [],
    mentions: [],
    mentions_room: false,
    epoch: ack.epoch,
    position: ack.position,
  };
}
