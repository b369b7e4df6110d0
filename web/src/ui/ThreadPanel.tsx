// One thread beside the room: its first message, the replies (a page from the server
// merged with those that arrived live), and a composer that replies in the thread. A side
// panel on wide screens, a full-screen sheet on phones, like the members panel.

import type { MessageId, MessageView, RoomId } from '@protocol';
import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { listThread } from '../api/messages';
import { useConnection } from '../app/ConnectionContext';
import { useLive } from '../live/store';
import { insertMessage } from '../live/timeline';
import { timeLabel } from '../time';
import { Composer } from './Composer';
import { UserName } from './UserName';

interface ThreadPanelProps {
  room: RoomId;
  root: MessageView;
  maxChars: number;
  onClose: () => void;
}

export function ThreadPanel({ room, root, maxChars, onClose }: ThreadPanelProps) {
  const connection = useConnection();
  const page = useQuery({
    queryKey: ['thread', root.id],
    queryFn: () => listThread(root.id),
  });
  const live = useLive(
    useShallow((s) => (s.rooms[room]?.messages ?? []).filter((m) => m.thread_root === root.id)),
  );
  const pending = useLive(useShallow((s) => s.pending.filter((p) => p.threadRoot === root.id)));
  const replies = useMemo(
    () => live.reduce<MessageView[]>(insertMessage, (page.data?.messages ?? []).slice()),
    [live, page.data],
  );
  return (
    <aside className="members-panel thread-panel" aria-labelledby="thread-heading">
      <header className="panel-header">
        <h2 id="thread-heading">Thread</h2>
        <button type="button" className="icon-button" aria-label="Close the thread" onClick={onClose}>
          ×
        </button>
      </header>
      <div className="thread-messages" role="log" aria-label="Replies in the thread">
        <ThreadMessage message={root} />
        <p className="thread-count muted">
          {replies.length === 1 ? '1 reply' : `${replies.length} replies`}
        </p>
        {page.isError && (
          <p className="panel-note" role="alert">
            Could not load the earlier replies.
          </p>
        )}
        {page.data?.has_older && <p className="muted panel-note">Earlier replies are not shown.</p>}
        {replies.map((reply) => (
          <ThreadMessage key={reply.id} message={reply} />
        ))}
        {pending.map((send) => (
          <article key={send.clientMsgId} className="thread-message pending">
            <p className="message-body">{send.content}</p>
            <p className="send-status muted">{send.state === 'failed' ? 'Not sent.' : 'Sending…'}</p>
          </article>
        ))}
      </div>
      <Composer
        key={root.id}
        room={room}
        label="the thread"
        maxChars={maxChars}
        draftKey={`thread:${root.id}`}
        onSend={(content, attachments) => connection.send(room, content, null, root.id as MessageId, attachments)}
      />
    </aside>
  );
}

function ThreadMessage({ message }: { message: MessageView }) {
  const deleted = message.deleted_at !== null;
  return (
    <article className="thread-message">
      <header className="message-meta">
        <UserName id={message.sender_id} className="sender" />
        {message.sent_at && (
          <time dateTime={message.sent_at} className="muted">
            {timeLabel(message.sent_at)}
          </time>
        )}
      </header>
      <p className={deleted ? 'message-body deleted' : 'message-body'}>
        {deleted ? 'This message was deleted.' : message.content}
      </p>
    </article>
  );
}
