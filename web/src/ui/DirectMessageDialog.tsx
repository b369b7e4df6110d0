// Starting a direct conversation: find a person by name, open the room of the two.

import type { User } from '@protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { keys, useUserSearch } from '../api/queries';
import { openDirectRoom } from '../api/rooms';
import { useSession } from '../api/session';
import { displayName, initials } from '../app/names';
import { navigate } from '../app/route';
import { openDialog, useUi } from '../app/ui-state';
import { Dialog } from './Dialog';
import { FormError, formProblem } from './forms';
import { useDebounced } from './useDebounced';

export function DirectMessageDialog() {
  const open = useUi((s) => s.dialog === 'direct_message');
  return (
    <Dialog open={open} title="New direct message" onClose={() => openDialog(null)}>
      <FindPerson />
    </Dialog>
  );
}

function FindPerson() {
  const [search, setSearch] = useState('');
  const query = useDebounced(search.trim());
  const me = useSession((s) => s.me?.id);
  const { data: users, isFetching, isError } = useUserSearch(query);
  const queryClient = useQueryClient();
  const open = useMutation({
    mutationFn: (user: User) => openDirectRoom({ user_id: user.id }),
    onSuccess: (room) => {
      queryClient.setQueryData(keys.room(room.id), room);
      void queryClient.invalidateQueries({ queryKey: keys.myRooms });
      openDialog(null);
      navigate({ screen: 'room', room: room.id });
    },
  });
  const id = useId();
  const found = (users ?? []).filter((user) => user.id !== me);
  return (
    <div className="stack">
      <div className="field">
        <label htmlFor={id}>Name or username</label>
        <input
          id={id}
          type="search"
          value={search}
          autoFocus
          autoComplete="off"
          onChange={(e) => setSearch(e.target.value)}
        />
      </div>
      {isFetching && <p className="muted" role="status">Searching…</p>}
      {isError && <p role="alert">The search failed.</p>}
      {query && users && found.length === 0 && <p className="muted">Nobody found.</p>}
      <FormError message={formProblem(open.error).message} />
      <ul className="result-list" aria-label="People">
        {found.map((user) => (
          <li key={user.id}>
            <button
              type="button"
              className="person"
              disabled={open.isPending}
              onClick={() => open.mutate(user)}
            >
              <span className="avatar small" aria-hidden="true">
                {initials(displayName(user))}
              </span>
              <span>
                {displayName(user)} <span className="muted">@{user.username}</span>
              </span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
