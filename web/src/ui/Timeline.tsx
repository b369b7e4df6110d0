// A room's messages, newest at the bottom, virtualized: older pages load when the user
// scrolls to the top, the view follows new messages while at the bottom, and a button
// jumps back to the latest otherwise.

import type { MessageId, MessageView, ReplyPreview, Role, RoomId, UserId } from '@protocol';
import { useCallback, useEffect, useMemo, useRef, useState, type RefObject } from 'react';
import { Virtuoso, type VirtuosoHandle } from 'react-virtuoso';
import { useUser } from '../api/queries';
import { displayName } from '../app/names';
import { messageActions } from '../app/permissions';
import { useConnection } from '../app/ConnectionContext';
import { loadOlder } from '../live/history';
import { seenBy } from '../live/receipts';
import { mentionsOf } from '../live/state';
import { useLive } from '../live/store';
import type { PendingSend } from '../live/pending';
import { timeLabel } from '../time';
import { nextFirstItemIndex, timelineRows, type TimelineRow } from './timelineRows';
import { useSession } from '../api/session';
import { UserName } from './UserName';
import { MessageAttachments } from './Attachments';
import { UserAvatar } from './Avatar';
import { EditedMark, MessageEditor, MessageMenu } from './MessageActions';
import { ReactionBar, ReactionPicker } from './Reactions';
import { SeenBy } from './SeenBy';

/** Virtuoso's index of the first row; far from 0 so that many older pages fit above. */
const START_INDEX = 1_000_000_000;

interface TimelineProps {
  room: RoomId;
  label: string;
  messages: MessageView[];
  pending: PendingSend[];
  hasOlder: boolean;
  me: UserId | null;
  /** The user's role in the room (admins and the owner may delete anyone's messages). */
  myRole: Role | null;
  /** A direct room: its read receipt reads "Seen", not "Seen by" a name. */
  direct: boolean;
  /** The longest message content (an edit follows the send rules). */
  maxChars: number;
  /** Starts a reply to the message. */
  onReply: (message: MessageView) => void;
  /** Opens the thread of the message. */
  onOpenThread: (message: MessageView) => void;
  handle: RefObject<VirtuosoHandle | null>;
}

interface HeaderContext {
  me: UserId | null;
  myRole: Role | null;
  direct: boolean;
  /** Read receipts: who has seen the room up to each message. */
  seen: Map<MessageId, UserId[]>;
  maxChars: number;
  onReply: (message: MessageView) => void;
  onOpenThread: (message: MessageView) => void;
  loadingOlder: boolean;
  hasOlder: boolean;
  olderError: boolean;
  retry: () => void;
}

export function Timeline({
  room,
  label,
  messages,
  pending,
  hasOlder,
  me,
  myRole,
  direct,
  maxChars,
  onReply,
  onOpenThread,
  handle,
}: TimelineProps) {
  // Thread replies live in their thread; the room shows them on their root.
  const main = useMemo(() => messages.filter((m) => m.thread_root === null), [messages]);
  const rows = useMemo(
    () =>
      timelineRows(
        main,
        pending.filter((p) => p.threadRoot === null),
        me,
      ),
    [main, pending, me],
  );
  const readers = useLive((s) => s.receipts[room]);
  const seen = useMemo(() => seenBy(main, readers, me), [main, readers, me]);
  const [atBottom, setAtBottom] = useState(true);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [olderError, setOlderError] = useState(false);

  // Keep the view where it is when rows are added above it.
  const anchor = useRef<{ firstItemIndex: number; anchorKey: string; anchorIndex: number } | null>(
    null,
  );
  const firstItemIndex = nextFirstItemIndex(anchor.current, rows, START_INDEX);
  const anchorIndex = rows.findIndex((row) => row.kind !== 'day');
  anchor.current =
    anchorIndex >= 0 ? { firstItemIndex, anchorKey: rows[anchorIndex]!.key, anchorIndex } : null;

  const older = useCallback(() => {
    if (!hasOlder || loadingOlder) return;
    setLoadingOlder(true);
    setOlderError(false);
    loadOlder(room)
      .catch(() => setOlderError(true))
      .finally(() => setLoadingOlder(false));
  }, [room, hasOlder, loadingOlder]);

  const context: HeaderContext = {
    me,
    myRole,
    direct,
    seen,
    maxChars,
    onReply,
    onOpenThread,
    loadingOlder,
    hasOlder,
    olderError,
    retry: older,
  };

  return (
    <div className="timeline">
      <Virtuoso<TimelineRow, HeaderContext>
        ref={handle}
        className="timeline-scroller"
        // The ARIA role of a chat's messages; the Announcer below reads out new ones, so the
        // log itself stays quiet rather than reading each twice.
        role="log"
        aria-live="off"
        aria-label={`Messages in ${label}`}
        data={rows}
        context={context}
        firstItemIndex={firstItemIndex}
        initialTopMostItemIndex={{ index: 'LAST', align: 'end' }}
        alignToBottom
        followOutput={(isAtBottom) => (isAtBottom ? 'smooth' : false)}
        atBottomThreshold={48}
        atBottomStateChange={setAtBottom}
        startReached={older}
        increaseViewportBy={{ top: 600, bottom: 200 }}
        computeItemKey={(_, row) => row.key}
        itemContent={(index, row, rowContext) => (
          <>
            {/* Right above the first message, not at the top of a short room's empty space. */}
            {index === firstItemIndex && !rowContext.hasOlder && <RoomStart />}
            <Row row={row} context={rowContext} />
          </>
        )}
        components={{ Header: TimelineHeader, EmptyPlaceholder: RoomStart }}
      />
      {!atBottom && (
        <button
          type="button"
          className="jump-latest"
          onClick={() => handle.current?.scrollToIndex({ index: 'LAST', align: 'end', behavior: 'smooth' })}
        >
          Jump to latest ↓
        </button>
      )}
      <Announcer messages={main} me={me} />
    </div>
  );
}

function TimelineHeader({ context }: { context: HeaderContext }) {
  if (context.loadingOlder) {
    return (
      <p className="timeline-edge" role="status">
        Loading older messages…
      </p>
    );
  }
  if (context.olderError) {
    return (
      <p className="timeline-edge" role="alert">
        Could not load older messages.{' '}
        <button type="button" className="link-button" onClick={context.retry}>
          Try again
        </button>
      </p>
    );
  }
  return <div className="timeline-edge" />;
}

function RoomStart() {
  return <p className="timeline-edge">This is the beginning of the room.</p>;
}

function Row({ row, context }: { row: TimelineRow; context: HeaderContext }) {
  switch (row.kind) {
    case 'day':
      return (
        <div className="day-separator" role="separator" aria-label={row.label}>
          <span>{row.label}</span>
        </div>
      );
    case 'message':
      return <MessageRow message={row.message} grouped={row.grouped} context={context} />;
    case 'pending':
      return <PendingRow send={row.send} grouped={row.grouped} />;
  }
}

interface MessageRowProps {
  message: MessageView;
  grouped: boolean;
  context: HeaderContext;
}

function MessageRow({ message, grouped, context }: MessageRowProps) {
  const deleted = message.deleted_at !== null;
  const [editing, setEditing] = useState(false);
  const actions = messageActions(context.myRole, context.me, message);
  const mentioned = !deleted && message.sender_id !== context.me && mentionsOf(message, context.me);
  return (
    <article
      className={`message${grouped ? ' grouped' : ''}${mentioned ? ' mentioned' : ''}`}
      data-message-id={message.id}
    >
      {!grouped && <UserAvatar id={message.sender_id} />}
      {!grouped && (
        <header className="message-meta">
          <UserName id={message.sender_id} className="sender" />
          {message.sent_at && (
            <time dateTime={message.sent_at} className="muted">
              {timeLabel(message.sent_at)}
            </time>
          )}
        </header>
      )}
      {message.reply_preview && <ReplyQuote preview={message.reply_preview} />}
      {editing && !deleted ? (
        <MessageEditor message={message} maxChars={context.maxChars} onDone={() => setEditing(false)} />
      ) : (
        (deleted || message.content || message.edited_at) && (
          <p className={deleted ? 'message-body deleted' : 'message-body'}>
            <span>{deleted ? 'This message was deleted.' : message.content}</span>
            {message.edited_at && !deleted && <EditedMark message={message} />}
          </p>
        )
      )}
      {!deleted && message.attachments && <MessageAttachments files={message.attachments} />}
      {!deleted && <ReactionBar message={message} />}
      {message.thread && message.thread.reply_count > 0 && (
        <button type="button" className="link-button thread-link" onClick={() => context.onOpenThread(message)}>
          {message.thread.reply_count === 1 ? '1 reply' : `${message.thread.reply_count} replies`}
          {message.thread.last_reply_at && (
            <span className="muted"> · last {timeLabel(message.thread.last_reply_at)}</span>
          )}
        </button>
      )}
      {context.seen.has(message.id) && (
        <SeenBy readers={context.seen.get(message.id) ?? []} direct={context.direct} />
      )}
      {!editing && !deleted && (
        <div className="message-tools">
          <button
            type="button"
            className="icon-button"
            aria-label="Reply"
            title="Reply"
            onClick={() => context.onReply(message)}
          >
            ↩
          </button>
          {message.thread_root === null && (
            <button
              type="button"
              className="icon-button"
              aria-label="Reply in a thread"
              title="Reply in a thread"
              onClick={() => context.onOpenThread(message)}
            >
              💬
            </button>
          )}
          <ReactionPicker message={message} />
          {(actions.edit || actions.delete) && (
            <MessageMenu message={message} actions={actions} onEdit={() => setEditing(true)} />
          )}
        </div>
      )}
    </article>
  );
}

/** What a reply answers, above it. */
function ReplyQuote({ preview }: { preview: ReplyPreview }) {
  return (
    <blockquote className="reply-quote" aria-label="In reply to">
      <span aria-hidden="true">↩ </span>
      <UserName id={preview.sender_id} />{' '}
      {preview.deleted ? (
        <span className="muted">Original message deleted</span>
      ) : (
        <span className="reply-excerpt">{preview.excerpt}</span>
      )}
    </blockquote>
  );
}

function PendingRow({ send, grouped }: { send: PendingSend; grouped: boolean }) {
  const connection = useConnection();
  const me = useSession((s) => s.me?.id ?? null);
  return (
    <article className={`message pending ${grouped ? 'grouped' : ''}`} data-state={send.state}>
      {!grouped && me && <UserAvatar id={me} />}
      {!grouped && (
        <header className="message-meta">
          <span className="sender">You</span>
        </header>
      )}
      {send.content && <p className="message-body">{send.content}</p>}
      <MessageAttachments files={send.attachments} />
      {send.state === 'failed' ? (
        <p className="send-status error" role="alert">
          Not sent{send.error ? `: ${send.error.message}` : ''}.{' '}
          <button type="button" className="link-button" onClick={() => connection.retry(send.clientMsgId)}>
            Retry
          </button>{' '}
          <button type="button" className="link-button" onClick={() => connection.discard(send.clientMsgId)}>
            Discard
          </button>
        </p>
      ) : (
        <p className="send-status muted">{send.state === 'sending' ? 'Sending…' : 'Waiting to send…'}</p>
      )}
    </article>
  );
}

/** Reads out new messages of others in the open room to screen readers. */
function Announcer({ messages, me }: { messages: MessageView[]; me: UserId | null }) {
  const last = messages[messages.length - 1];
  const [said, setSaid] = useState<MessageView | null>(null);
  const shown = useRef(false);
  useEffect(() => {
    // What was there when the room opened is not news.
    if (!shown.current) {
      shown.current = true;
      return;
    }
    if (last && last.sender_id !== me) setSaid(last);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once per new last message, not per edit
  }, [last?.id]);
  const { data: sender } = useUser(said?.sender_id);
  // As it now is: a message deleted since is no longer read out (nor left in the page).
  const now = said ? messages.find((m) => m.id === said.id) : undefined;
  return (
    <div className="visually-hidden" aria-live="polite">
      {now && now.deleted_at === null ? `${displayName(sender)}: ${now.content}` : ''}
    </div>
  );
}
