// A room's settings for its admins and owner: name, topic and description; for the owner,
// deleting the room.

import type { Room, RoomChanges } from '@protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { keys } from '../api/queries';
import { deleteRoom, updateRoom } from '../api/rooms';
import { canDeleteRoom } from '../app/permissions';
import { navigate } from '../app/route';
import { showNotice } from '../app/ui-state';
import { Dialog } from './Dialog';
import { DialogActions, Field, FormError, formProblem } from './forms';

export function RoomSettingsDialog({ room, open, onClose }: { room: Room; open: boolean; onClose: () => void }) {
  return (
    <Dialog open={open} title="Room settings" onClose={onClose}>
      <SettingsForm room={room} onDone={onClose} />
      {canDeleteRoom(room) && <DeleteRoom room={room} onDone={onClose} />}
    </Dialog>
  );
}

/** What the form changes: only the fields whose value differs from the room's. */
export function roomChanges(room: Room, form: { name: string; topic: string; description: string }): RoomChanges {
  const changes: RoomChanges = {};
  if (form.name !== room.name) changes.name = form.name;
  if (form.topic !== (room.topic ?? '')) changes.topic = form.topic;
  if (form.description !== (room.description ?? '')) changes.description = form.description;
  return changes;
}

function SettingsForm({ room, onDone }: { room: Room; onDone: () => void }) {
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: (changes: RoomChanges) => updateRoom(room.id, changes),
    onSuccess: (updated) => {
      queryClient.setQueryData(keys.room(room.id), updated);
      void queryClient.invalidateQueries({ queryKey: keys.myRooms });
      onDone();
    },
  });
  const problem = formProblem(save.error);

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const value = (name: string) => String(form.get(name) ?? '').trim();
    const changes = roomChanges(room, { name: value('name'), topic: value('topic'), description: value('description') });
    if (Object.keys(changes).length === 0) onDone();
    else save.mutate(changes);
  };

  return (
    <form className="stack" onSubmit={onSubmit}>
      <Field label="Name" name="name" required maxLength={80} defaultValue={room.name} error={problem.fields.name} />
      <Field label="Topic" name="topic" maxLength={500} defaultValue={room.topic ?? ''} error={problem.fields.topic} />
      <Field
        label="Description"
        name="description"
        multiline
        rows={3}
        maxLength={500}
        defaultValue={room.description ?? ''}
        error={problem.fields.description}
      />
      <FormError message={problem.message} />
      <DialogActions onCancel={onDone} label="Save changes" busyLabel="Saving…" busy={save.isPending} />
    </form>
  );
}

function DeleteRoom({ room, onDone }: { room: Room; onDone: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () => deleteRoom(room.id),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.myRooms });
      onDone();
      navigate({ screen: 'home' });
      showNotice(`#${room.name} was deleted.`);
    },
  });
  return (
    <section className="danger-zone" aria-labelledby="delete-room-heading">
      <h3 id="delete-room-heading">Delete this room</h3>
      <p className="muted">Everyone is removed and its messages are gone for good.</p>
      <FormError message={formProblem(remove.error).message} />
      {confirming ? (
        <DialogActions
          onCancel={() => setConfirming(false)}
          cancelLabel="Keep the room"
          label={`Delete #${room.name} for everyone`}
          busyLabel="Deleting…"
          busy={remove.isPending}
          tone="danger"
          onAction={() => remove.mutate()}
        />
      ) : (
        <button type="button" className="button" onClick={() => setConfirming(true)}>
          Delete room…
        </button>
      )}
    </section>
  );
}
