// Finding public rooms by name, and joining them.

import type { Room } from '@protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { keys, usePublicRooms } from '../api/queries';
import { joinRoom } from '../api/rooms';
import { navigate } from '../app/route';
import { openDialog, useUi } from '../app/ui-state';
import { Dialog } from './Dialog';
import { FormError, formProblem } from './forms';
import { useDebounced } from './useDebounced';

export function BrowseRoomsDialog() {
  const open = useUi((s) => s.dialog === 'browse_rooms');
  return (
    <Dialog open={open} title="Browse public rooms" onClose={() => openDialog(null)}>
      <BrowseRooms />
    </Dialog>
  );
}

function BrowseRooms() {
  const [search, setSearch] = useState('');
  const query = useDebounced(search.trim());
  const { rooms, data, isPending, isError, hasNextPage, fetchNextPage, isFetchingNextPage } = usePublicRooms(query);
  const id = useId();
  return (
    <div className="stack">
      <div className="field">
        <label htmlFor={id}>Search by name</label>
        <input id={id} type="search" value={search} autoFocus onChange={(e) => setSearch(e.target.value)} />
      </div>
      {isPending && <p className="muted" role="status">Searching…</p>}
      {isError && <p role="alert">The rooms could not be loaded.</p>}
      {data && rooms.length === 0 && <p className="muted">No public rooms match.</p>}
      <ul className="result-list" aria-label="Public rooms">
        {rooms.map((room) => <PublicRoom key={room.id} room={room} />)}
      </ul>
      {hasNextPage && (
        <button
          type="button"
          className="link-button"
          disabled={isFetchingNextPage}
          onClick={() => void fetchNextPage()}
        >
          {isFetchingNextPage ? 'Loading…' : 'Show more rooms'}
        </button>
      )}
    </div>
  );
}

function PublicRoom({ room }: { room: Room }) {
  const queryClient = useQueryClient();
  const join = useMutation({
    mutationFn: () => joinRoom(room.id),
    onSuccess: (joined) => {
      queryClient.setQueryData(keys.room(joined.id), joined);
      void queryClient.invalidateQueries({ queryKey: keys.myRooms });
      openDialog(null);
      navigate({ screen: 'room', room: joined.id });
    },
  });
  const member = room.my_role !== null;
  return (
    <li className="result">
      <div className="result-text">
        <p className="result-title"># {room.name}</p>
        <p className="muted">
          {room.member_count} {room.member_count === 1 ? 'member' : 'members'}
          {room.topic ? ` · ${room.topic}` : ''}
        </p>
        <FormError message={formProblem(join.error).message} />
      </div>
      {member ? (
        <button
          type="button"
          className="button"
          onClick={() => {
            openDialog(null);
            navigate({ screen: 'room', room: room.id });
          }}
        >
          Open
        </button>
      ) : (
        <button
          type="button"
          className="button primary"
          disabled={join.isPending}
          aria-label={`Join ${room.name}`}
          onClick={() => join.mutate()}
        >
          {join.isPending ? 'Joining…' : 'Join'}
        </button>
      )}
    </li>
  );
}
