// Creating a public or private room.

import type { NewRoom, NewRoomKind } from '@protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { keys } from '../api/queries';
import { createRoom } from '../api/rooms';
import { navigate } from '../app/route';
import { openDialog, useUi } from '../app/ui-state';
import { Dialog } from './Dialog';
import { DialogActions, Field, FormError, formProblem } from './forms';

export function CreateRoomDialog() {
  const open = useUi((s) => s.dialog === 'create_room');
  const close = () => openDialog(null);
  return (
    <Dialog open={open} title="Create a room" onClose={close}>
      <CreateRoomForm onDone={close} />
    </Dialog>
  );
}

function CreateRoomForm({ onDone }: { onDone: () => void }) {
  const queryClient = useQueryClient();
  const create = useMutation({
    mutationFn: (room: NewRoom) => createRoom(room),
    onSuccess: (room) => {
      queryClient.setQueryData(keys.room(room.id), room);
      void queryClient.invalidateQueries({ queryKey: keys.myRooms });
      onDone();
      navigate({ screen: 'room', room: room.id });
    },
  });
  const problem = formProblem(create.error);

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const value = (name: string) => String(form.get(name) ?? '').trim();
    const room: NewRoom = { name: value('name'), kind: value('kind') as NewRoomKind };
    if (value('topic')) room.topic = value('topic');
    if (value('description')) room.description = value('description');
    create.mutate(room);
  };

  return (
    <form className="stack" onSubmit={onSubmit}>
      <Field label="Name" name="name" required maxLength={80} autoFocus error={problem.fields.name} />
      <fieldset className="choice">
        <legend>Who can join</legend>
        <label>
          <input type="radio" name="kind" value="public" defaultChecked /> Public: anyone can find and join it
        </label>
        <label>
          <input type="radio" name="kind" value="private" /> Private: members invite others
        </label>
        {problem.fields.kind && <p className="field-error">{problem.fields.kind}</p>}
      </fieldset>
      <Field label="Topic (optional)" name="topic" maxLength={500} error={problem.fields.topic} />
      <Field
        label="Description (optional)"
        name="description"
        multiline
        rows={3}
        maxLength={500}
        error={problem.fields.description}
      />
      <FormError message={problem.message} />
      <DialogActions onCancel={onDone} label="Create room" busyLabel="Creating…" busy={create.isPending} />
    </form>
  );
}
