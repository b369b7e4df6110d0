// Finding a person by name: a search box and the people it finds, each a button. Used to
// start a direct conversation and to invite someone into a room.

import type { User, UserId } from '@protocol';
import { useId, useState } from 'react';
import { useUserSearch } from '../api/queries';
import { displayName } from '../app/names';
import { Avatar } from './Avatar';
import { useDebounced } from './useDebounced';

interface PersonSearchProps {
  /** Called with the person chosen. */
  onPick: (user: User) => void;
  /** People not to offer (oneself, those already in the room). */
  exclude?: ReadonlySet<UserId>;
  /** A choice is being carried out: the buttons wait. */
  busy?: boolean;
  /** How each person's button is announced, e.g. "Invite". */
  actionLabel?: string;
}

export function PersonSearch({ onPick, exclude, busy = false, actionLabel }: PersonSearchProps) {
  const [search, setSearch] = useState('');
  const query = useDebounced(search.trim());
  const { data: users, isFetching, isError } = useUserSearch(query);
  const id = useId();
  const found = (users ?? []).filter((user) => !exclude?.has(user.id));
  return (
    <>
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
      <ul className="result-list" aria-label="People">
        {found.map((user) => (
          <li key={user.id}>
            <button
              type="button"
              className="person"
              disabled={busy}
              aria-label={actionLabel ? `${actionLabel} ${displayName(user)} (@${user.username})` : undefined}
              onClick={() => onPick(user)}
            >
              <Avatar name={displayName(user)} url={user.avatar_url} size="small" />
              <span>
                {displayName(user)} <span className="muted">@{user.username}</span>
              </span>
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}
