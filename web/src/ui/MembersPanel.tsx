// Who is in the room: a side panel on wide screens, a full-screen sheet on phones.

import type { Room } from '@protocol';
import { useState } from 'react';
import { useMembers } from '../api/queries';
import { useSession } from '../api/session';
import { canManageRoom, memberActions } from '../app/permissions';
import { toggleMembers } from '../app/ui-state';
import { InviteDialog } from './InviteDialog';
import { MemberMenu } from './MemberMenu';
import { PresenceDot } from './PresenceDot';
import { UserName } from './UserName';

export function MembersPanel({ room }: { room: Room }) {
  const { members, isPending, isError, refetch, hasNextPage, fetchNextPage, isFetchingNextPage } =
    useMembers(room.id);
  const me = useSession((s) => s.me?.id ?? null);
  const [inviting, setInviting] = useState(false);
  return (
    <aside id="members-panel" className="members-panel" aria-labelledby="members-heading">
      <header className="panel-header">
        <h2 id="members-heading">Members</h2>
        <button type="button" className="icon-button" aria-label="Close members" onClick={() => toggleMembers(false)}>
          ×
        </button>
      </header>
      {canManageRoom(room) && (
        <button type="button" className="button panel-action" onClick={() => setInviting(true)}>
          Invite people
        </button>
      )}
      {isPending && <p className="muted panel-note">Loading members…</p>}
      {isError && (
        <p className="panel-note" role="alert">
          Could not load the members.{' '}
          <button type="button" className="link-button" onClick={() => void refetch()}>
            Try again
          </button>
        </p>
      )}
      <ul className="member-list">
        {members.map((member) => (
          <li key={member.user_id}>
            <PresenceDot user={member.user_id} />
            <UserName id={member.user_id} />
            {member.role !== 'member' && <span className="role-tag">{member.role}</span>}
            <MemberMenu room={room} member={member} actions={memberActions(room, me, member)} />
          </li>
        ))}
      </ul>
      {hasNextPage && (
        <button
          type="button"
          className="link-button panel-note"
          disabled={isFetchingNextPage}
          onClick={() => void fetchNextPage()}
        >
          Show more members
        </button>
      )}
      {canManageRoom(room) && (
        <InviteDialog room={room} members={members} open={inviting} onClose={() => setInviting(false)} />
      )}
    </aside>
  );
}
