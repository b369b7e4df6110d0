// Finding messages by their words, in every room of the user or in the open one; a
// result opens its room.

import type { RoomId, SearchHit, SnippetPart } from '@protocol';
import { useId, useState } from 'react';
import { useMessageSearch, useRoom, useUser } from '../api/queries';
import { navigate } from '../app/route';
import { openDialog, useUi } from '../app/ui-state';
import { timeLabel } from '../time';
import { Dialog } from './Dialog';
import { useRoomName } from './RoomList';
import { useDebounced } from './useDebounced';
import { UserAvatar } from './Avatar';
import { displayName } from '../app/names';

export function SearchDialog({ current }: { current: RoomId | null }) {
  const open = useUi((s) => s.dialog === 'search');
  return (
    <Dialog open={open} title="Search messages" onClose={() => openDialog(null)}>
      <Search current={current} />
    </Dialog>
  );
}

function Search({ current }: { current: RoomId | null }) {
  const [text, setText] = useState('');
  const [inRoom, setInRoom] = useState(false);
  const q = useDebounced(text.trim());
  const room = inRoom ? current : null;
  const { results, data, isFetching, isError, hasNextPage, fetchNextPage, isFetchingNextPage } =
    useMessageSearch(q, room);
  const id = useId();
  return (
    <div className="stack search">
      <div className="field">
        <label htmlFor={id}>Words to find</label>
        <input
          id={id}
          type="search"
          value={text}
          autoFocus
          maxLength={200}
          placeholder='lighthouse, "the car park", -fog'
          onChange={(e) => setText(e.target.value)}
        />
      </div>
      {current && (
        <label className="check">
          <input type="checkbox" checked={inRoom} onChange={(e) => setInRoom(e.target.checked)} /> Only in
          this room
        </label>
      )}
      {q && isFetching && !isFetchingNextPage && (
        <p className="muted" role="status">
          Searching…
        </p>
      )}
      {isError && <p role="alert">The search could not be done. Try again in a moment.</p>}
      {q && data && results.length === 0 && <p className="muted">No messages match.</p>}
      <ul className="result-list" aria-label="Messages found">
        {results.map((hit) => (
          <Result key={hit.message.id} hit={hit} />
        ))}
      </ul>
      {hasNextPage && (
        <button type="button" className="link-button" disabled={isFetchingNextPage} onClick={() => void fetchNextPage()}>
          {isFetchingNextPage ? 'Loading…' : 'Show older messages'}
        </button>
      )}
    </div>
  );
}

function Result({ hit }: { hit: SearchHit }) {
  const { message } = hit;
  const { data: room } = useRoom(message.room_id);
  const roomName = useRoomName(room);
  const { data: sender } = useUser(message.sender_id);
  const where = room?.kind === 'direct' ? roomName : `#${roomName}`;
  return (
    <li>
      <button
        type="button"
        className="search-result"
        onClick={() => {
          openDialog(null);
          navigate({ screen: 'room', room: message.room_id });
        }}
      >
        <UserAvatar id={message.sender_id} size="small" />
        <span className="search-result-text">
          <span className="search-result-meta">
            <strong>{displayName(sender)}</strong> in {where}
            {message.sent_at && <span className="muted"> · {timeLabel(message.sent_at)}</span>}
          </span>
          <Snippet parts={hit.snippet} />
        </span>
      </button>
    </li>
  );
}

/** The passage that matched, the matched words marked (plain text, never HTML). */
export function Snippet({ parts }: { parts: SnippetPart[] }) {
  return (
    <span className="snippet">
      {parts.map((part, index) => (part.matched ? <mark key={index}>{part.text}</mark> : <span key={index}>{part.text}</span>))}
    </span>
  );
}
