// The user's rooms and direct conversations, with unread counts and the ways to find more.

import type { MessageView, Room, RoomId } from '@protocol';
import { useMyRooms, useUser } from '../api/queries';
import { useSession } from '../api/session';
import { directPartner, displayName } from '../app/names';
import { roomHref } from '../app/route';
import { openDialog } from '../app/ui-state';
import { byActivity, previewText, roomPreview, type RoomPreview } from '../live/preview';
import { useLive } from '../live/store';
import { activityLabel } from '../time';
import { Avatar } from './Avatar';
import { PresenceDot } from './PresenceDot';

interface ListedRoom {
  room: Room;
  preview: RoomPreview;
}

export function RoomList({ current }: { current: RoomId | null }) {
  const { rooms, isPending, isError, refetch, hasNextPage, fetchNextPage } = useMyRooms();
  const unread = useLive((s) => s.unread);
  const mentions = useLive((s) => s.mentions);
  const latest = useLive((s) => s.latest);
  const changed = useLive((s) => s.changed);
  const listed: ListedRoom[] = rooms.map((room) => ({ room, preview: roomPreview(room, latest[room.id], changed) }));
  const newestFirst = (a: ListedRoom, b: ListedRoom) => byActivity(a.preview, b.preview);
  const groups = listed.filter((r) => r.room.kind !== 'direct').sort(newestFirst);
  const directs = listed.filter((r) => r.room.kind === 'direct').sort(newestFirst);

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
          {groups.map(({ room, preview }) => (
            <RoomLink key={room.id} room={room} preview={preview} current={current} unread={unread[room.id] ?? 0} mentions={mentions[room.id] ?? 0} />
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
          {directs.map(({ room, preview }) => (
            <RoomLink key={room.id} room={room} preview={preview} current={current} unread={unread[room.id] ?? 0} mentions={mentions[room.id] ?? 0} />
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

function RoomLink({
  room,
  preview,
  current,
  unread,
  mentions,
}: {
  room: Room;
  preview: RoomPreview;
  current: RoomId | null;
  unread: number;
  mentions: number;
}) {
  const name = useRoomName(room);
  const isCurrent = room.id === current;
  const description = [
    name,
    room.kind === 'private' ? 'private' : null,
    unread > 0 ? `${unread > 99 ? 'over 99' : unread} unread` : null,
    mentions > 0 ? `${mentions > 99 ? 'over 99' : mentions} mentioning you` : null,
  ]
    .filter(Boolean)
    .join(', ');
  const when = preview.message ? activityLabel(preview.activeAt) : null;
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
          <DirectAvatar room={room} name={name} />
        ) : (
          <span className="room-sigil" aria-hidden="true">
            {room.kind === 'private' ? '🔒' : '#'}
          </span>
        )}
        <span className="room-text">
          <span className="room-line">
            <span className="room-name">{name}</span>
            {when && (
              <time className="room-time" dateTime={preview.activeAt} aria-hidden="true">
                {when}
              </time>
            )}
          </span>
          {preview.message && (
            <span className="room-line">
              <Preview message={preview.message} direct={room.kind === 'direct'} />
              <UnreadBadge unread={unread} mentions={mentions} />
            </span>
          )}
        </span>
        {!preview.message && <UnreadBadge unread={unread} mentions={mentions} />}
      </a>
    </li>
  );
}

/** The newest message in one line: "You: …", "Grace: …" (in a room), or just the text. */
function Preview({ message, direct }: { message: MessageView; direct: boolean }) {
  const me = useSession((s) => s.me?.id ?? null);
  const mine = message.sender_id === me;
  const { data: sender } = useUser(mine || direct ? null : message.sender_id);
  const who = mine ? 'You' : direct ? null : displayName(sender).split(' ')[0];
  const text = message.deleted_at ? 'Message deleted' : previewText(message);
  return (
    <span className="room-preview">
      {who && <span className="room-preview-sender">{who}: </span>}
      {text}
    </span>
  );
}

function DirectAvatar({ room, name }: { room: Room; name: string }) {
  const me = useSession((s) => s.me?.id ?? null);
  const partnerId = directPartner(room, me);
  const { data: partner } = useUser(partnerId);
  return (
    <span className="avatar-with-presence">
      <Avatar name={name} url={partner?.avatar_url} size="small" />
      {partnerId && partnerId !== me && <PresenceDot user={partnerId} />}
    </span>
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

/** The count of unread messages; marked "@" when some of them mention the user. */
function UnreadBadge({ unread, mentions }: { unread: number; mentions: number }) {
  if (unread <= 0 && mentions <= 0) return null;
  const count = Math.max(unread, mentions);
  return (
    <span className={mentions > 0 ? 'badge mention' : 'badge'} aria-hidden="true">
      {mentions > 0 ? '@ ' : ''}
      {count > 99 ? '99+' : count}
    </span>
  );
}
