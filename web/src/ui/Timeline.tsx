// A room's messages, newest at the bottom, virtualized: older pages load when the user
// scrolls to the top, the view follows new messages while at the bottom, and a button
// jumps back to the latest otherwise.

import type { MessageView, RoomId, UserId } from '@protocol';
import { useCallback, useEffect, useMemo, useRef, useState, type RefObject } from 'react';
import { Virtuoso, type VirtuosoHandle } from 'react-virtuoso';
import { useUser } from '../api/queries';
import { displayName } from '../app/names';
import { useConnection } from '../app/ConnectionContext';
import { loadOlder } from '../live/history';
import type { PendingSend } from '../live/pending';
import { timeLabel } from '../time';
import { nextFirstItemIndex, timelineRows, type TimelineRow } from './timelineRows';
import { useSession } from '../api/session';
import { UserName } from './UserName';
import { UserAvatar } from './Avatar';

/** Virtuoso's index of the first row; far from 0 so that many older pages fit above. */
const START_INDEX = 1_000_000_000;

interface TimelineProps {
  room: RoomId;
  label: string;
  messages: MessageView[];
  pending: PendingSend[];
  hasOlder: boolean;
  me: UserId | null;
  handle: RefObject<VirtuosoHandle | null>;
}

interface HeaderContext {
  loadingOlder: boolean;
  hasOlder: boolean;
  olderError: boolean;
  retry: () => void;
}

export function Timeline({ room, label, messages, pending, hasOlder, me, handle }: TimelineProps) {
  const rows = useMemo(() => timelineRows(messages, pending, me), [messages, pending, me]);
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

  const context: HeaderContext = { loadingOlder, hasOlder, olderError, retry: older };

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
        itemContent={(index, row, { hasOlder: more }) => (
          <>
            {/* Right above the first message, not at the top of a short room's empty space. */}
            {index === firstItemIndex && !more && <RoomStart />}
            <Row row={row} />
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
      <Announcer messages={messages} me={me} />
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

function Row({ row }: { row: TimelineRow }) {
  switch (row.kind) {
    case 'day':
      return (
        <div className="day-separator" role="separator" aria-label={row.label}>
          <span>{row.label}</span>
        </div>
      );
    case 'message':
      return <MessageRow message={row.message} grouped={row.grouped} />;
    case 'pending':
      return <PendingRow send={row.send} grouped={row.grouped} />;
  }
}

function MessageRow({ message, grouped }: { message: MessageView; grouped: boolean }) {
  const deleted = message.deleted_at !== null;
  return (
    <article className={grouped ? 'message grouped' : 'message'}>
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
      <p className={deleted ? 'message-body deleted' : 'message-body'}>
        {deleted ? 'This message was deleted.' : message.content}
        {message.edited_at && !deleted && <span className="muted edited"> (edited)</span>}
      </p>
    </article>
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
      <p className="message-body">{send.content}</p>
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
  return (
    <div className="visually-hidden" aria-live="polite">
      {said ? `${displayName(sender)}: ${said.content}` : ''}
    </div>
  );
}
