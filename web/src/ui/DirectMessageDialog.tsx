// Starting a direct conversation: find a person by name, open the room of the two.

import type { User } from '@protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { keys } from '../api/queries';
import { openDirectRoom } from '../api/rooms';
import { useSession } from '../api/session';
import { navigate } from '../app/route';
import { openDialog, useUi } from '../app/ui-state';
import { Dialog } from './Dialog';
import { FormError, formProblem } from './forms';
import { PersonSearch } from './PersonSearch';

export function DirectMessageDialog() {
  const open = useUi((s) => s.dialog === 'direct_message');
  return (
    <Dialog open={open} title="New direct message" onClose={() => openDialog(null)}>
      <FindPerson />
    </Dialog>
  );
}

function FindPerson() {
  const me = useSession((s) => s.me?.id);
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
  return (
    <div className="stack">
      <FormError message={formProblem(open.error).message} />
      <PersonSearch
        onPick={(user) => open.mutate(user)}
        exclude={me ? new Set([me]) : undefined}
        busy={open.isPending}
      />
    </div>
  );
}
