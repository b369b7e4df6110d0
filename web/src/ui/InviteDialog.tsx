// Inviting people into a room (admins and the owner): find them by name, add them.

import type { Member, Room, User } from '@protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError } from '../api/client';
import { keys } from '../api/queries';
import { inviteMember } from '../api/rooms';
import { displayName } from '../app/names';
import { Dialog } from './Dialog';
import { FormError, formProblem } from './forms';
import { PersonSearch } from './PersonSearch';

export function InviteDialog({
  room,
  members,
  open,
  onClose,
}: {
  room: Room;
  members: readonly Member[];
  open: boolean;
  onClose: () => void;
}) {
  return (
    <Dialog open={open} title={`Invite people to #${room.name}`} onClose={onClose}>
      <Invite room={room} members={members} />
    </Dialog>
  );
}

function Invite({ room, members }: { room: Room; members: readonly Member[] }) {
  const queryClient = useQueryClient();
  const [invited, setInvited] = useState<string[]>([]);
  const invite = useMutation({
    mutationFn: (user: User) => inviteMember(room.id, user.id),
    onSuccess: (_, user) => {
      setInvited((names) => [...names, displayName(user)]);
      void queryClient.invalidateQueries({ queryKey: keys.members(room.id) });
      void queryClient.invalidateQueries({ queryKey: keys.room(room.id) });
    },
  });
  const present = new Set(members.map((member) => member.user_id));
  const problem = formProblem(invite.error);
  const message = invite.error instanceof ApiError && invite.error.code === 'user_banned'
    ? 'This person is banned from the room.'
    : problem.message;
  return (
    <div className="stack">
      <PersonSearch
        onPick={(user) => invite.mutate(user)}
        exclude={present}
        busy={invite.isPending}
        actionLabel="Invite"
      />
      <FormError message={message} />
      {invited.length > 0 && (
        <p role="status" className="muted">
          Added: {invited.join(', ')}
        </p>
      )}
    </div>
  );
}
