// The user's rooms and direct conversations, with unread counts and the ways to find more.

import type { Room, RoomId } from '@protocol';
import { useMyRooms, useUser } from '../api/queries';
import { useSession } from '../api/session';
import { directPartner, displayName, initials } from '../app/names';
import { roomHref } from '../app/route';
import { openDialog } from '../app/ui-state';
import { useLive } from '../live/store';

export function RoomList({ current }: { current: RoomId | null }) {
  const { rooms, isPending, isError, refetch, hasNextPage, fetchNextPage } = useMyRooms();
  const unread = useLive((s) => s.unread);
  const groups = rooms.filter((r) => r.kind !== 'direct').sort(byActivity);
  const directs = rooms.filter((r) => r.kind === 'direct').sort(byActivity);

  return (
    <nav className="room-list" aria-label="Your rooms">
      <section aria-labelledby="rooms-heading">
        <div className="list-heading">
          <h2 id="rooms-heading">Rooms</h2>
          <button
            type="button"
            className="icon-button"
            aria-label="Create a room"
            title="Create a room"
            onClick={() => openDialog('create_room')}
          >
            +
          </button>
        </div>
        {isPending && <p className="muted list-note">Loading rooms…</p>}
        {isError && (
          <p className="list-note" role="alert">
            Could not load your rooms.{' '}
            <button type="button" className="link-button" onClick={() => void refetch()}>
              Try again
            </button>
          </p>
        )}
        <ul>
          {groups.map((room) => (
            <RoomLink key={room.id} room={room} current={current} unread={unread[room.id] ?? 0} />
          ))}
        </ul>
        {!isPending && groups.length === 0 && <p className="muted list-note">No rooms yet.</p>}
        <button type="button" className="link-button list-action" onClick={() => openDialog('browse_rooms')}>
          Browse public rooms
        </button>
      </section>
      <section aria-labelledby="directs-heading">
        <div className="list-heading">
          <h2 id="directs-heading">Direct messages</h2>
          <button
            type="button"
            className="icon-button"
            aria-label="New direct message"
            title="New direct message"
            onClick={() => openDialog('direct_message')}
          >
            +
          </button>
        </div>
        <ul>
          {directs.map((room) => (
            <RoomLink key={room.id} room={room} current={current} unread={unread[room.id] ?? 0} />
          ))}
        </ul>
        {!isPending && directs.length === 0 && (
          <p className="muted list-note">No conversations yet.</p>
        )}
      </section>
      {hasNextPage && (
        <button type="button" className="link-button list-action" onClick={() => void fetchNextPage()}>
          Show more rooms
        </button>
      )}
    </nav>
  );
}

/** Latest activity first (the server's `last_activity_at`, else the room's creation). */
function byActivity(a: Room, b: Room): number {
  return (b.last_activity_at ?? b.created_at).localeCompare(a.last_activity_at ?? a.created_at);
}

function RoomLink({ room, current, unread }: { room: Room; current: RoomId | null; unread: number }) {
  const name = useRoomName(room);
  const isCurrent = room.id === current;
  const description = [
    name,
    room.kind === 'private' ? 'private' : null,
    unread > 0 ? `${unread} unread` : null,
  ]
    .filter(Boolean)
    .join(', ');
  return (
    <li>
      <a
        className="room-link"
        href={roomHref(room.id)}
        aria-current={isCurrent ? 'page' : undefined}
        aria-label={description}
        data-unread={unread > 0 || undefined}
      >
        {room.kind === 'direct' ? (
          <span className="avatar small" aria-hidden="true">
            {initials(name)}
          </span>
        ) : (
          <span className="room-sigil" aria-hidden="true">
            {room.kind === 'private' ? '🔒' : '#'}
          </span>
        )}
        <span className="room-name">{name}</span>
        {unread > 0 && (
          <span className="badge" aria-hidden="true">
            {unread > 99 ? '99+' : unread}
          </span>
        )}
      </a>
    </li>
  );
}

/** A room's name: its own, or the other person's for a direct room. */
export function useRoomName(room: Room | undefined): string {
  const me = useSession((s) => s.me?.id ?? null);
  const partner = room?.kind === 'direct' ? directPartner(room, me) : null;
  const { data: user } = useUser(partner);
  if (!room) return '…';
  if (room.kind === 'direct') return displayName(user);
  return room.name;
}
