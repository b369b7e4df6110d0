// A person's profile, opened from their name; one's own can be edited here.

import type { Me, ProfileChanges, User } from '@protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { updateMe as patchMe } from '../api/auth';
import { keys, useUser } from '../api/queries';
import { openDirectRoom } from '../api/rooms';
import { updateMe, useSession } from '../api/session';
import { displayName } from '../app/names';
import { Avatar } from './Avatar';
import { PresenceText } from './PresenceDot';
import { navigate } from '../app/route';
import { openProfile, useUi } from '../app/ui-state';
import { Dialog } from './Dialog';
import { DialogActions, Field, FormError, formProblem } from './forms';

export function ProfileDialog() {
  const profile = useUi((s) => s.profile);
  const me = useSession((s) => s.me);
  const own = profile !== null && profile === me?.id;
  const close = () => openProfile(null);
  return (
    <Dialog open={profile !== null} title={own ? 'Your profile' : 'Profile'} onClose={close}>
      {own && me ? <EditProfile me={me} onDone={close} /> : profile ? <ShowProfile id={profile} /> : null}
    </Dialog>
  );
}

function ShowProfile({ id }: { id: string }) {
  const { data: user, isPending, isError } = useUser(id);
  const queryClient = useQueryClient();
  const message = useMutation({
    mutationFn: () => openDirectRoom({ user_id: id }),
    onSuccess: (room) => {
      void queryClient.invalidateQueries({ queryKey: keys.myRooms });
      openProfile(null);
      navigate({ screen: 'room', room: room.id });
    },
  });
  if (isPending) return <p role="status">Loading…</p>;
  if (isError || !user) return <p role="alert">This profile could not be loaded.</p>;
  return (
    <div className="profile">
      <ProfileCard user={user} />
      <FormError message={formProblem(message.error).message} />
      <button type="button" className="button primary" disabled={message.isPending} onClick={() => message.mutate()}>
        Send a message
      </button>
    </div>
  );
}

function ProfileCard({ user }: { user: User | Me }) {
  const name = displayName(user);
  return (
    <div className="profile-card">
      <Avatar name={name} url={user.avatar_url} size="large" />
      <div>
        <p className="profile-name">{name}</p>
        <p className="muted">@{user.username}</p>
        <PresenceText user={user.id} />
      </div>
      {user.bio && <p className="profile-bio">{user.bio}</p>}
    </div>
  );
}

function EditProfile({ me, onDone }: { me: Me; onDone: () => void }) {
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: (changes: ProfileChanges) => patchMe(changes),
    onSuccess: (updated) => {
      updateMe(updated);
      queryClient.setQueryData(keys.user(updated.id), {
        id: updated.id,
        username: updated.username,
        display_name: updated.display_name,
        avatar_url: updated.avatar_url,
        bio: updated.bio,
        created_at: updated.created_at,
      } satisfies User);
      onDone();
    },
  });
  const problem = formProblem(save.error);

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const value = (name: string) => String(form.get(name) ?? '').trim();
    // Only what changed: an untouched field stays as it is on the server.
    const changes: ProfileChanges = {};
    if (value('display_name') !== (me.display_name ?? '')) changes.display_name = value('display_name');
    if (value('bio') !== (me.bio ?? '')) changes.bio = value('bio');
    if (value('avatar_url') !== (me.avatar_url ?? '')) changes.avatar_url = value('avatar_url');
    const showPresence = form.get('show_presence') === 'on';
    if (showPresence !== me.show_presence) changes.show_presence = showPresence;
    if (Object.keys(changes).length === 0) onDone();
    else save.mutate(changes);
  };

  return (
    <form className="stack" onSubmit={onSubmit}>
      <ProfileCard user={me} />
      <p className="muted">Signed in as {me.email}</p>
      <Field label="Display name" name="display_name" defaultValue={me.display_name ?? ''} error={problem.fields.display_name} />
      <Field label="Bio" name="bio" multiline rows={3} defaultValue={me.bio ?? ''} error={problem.fields.bio} />
      <Field
        label="Avatar URL"
        name="avatar_url"
        type="url"
        hint="A picture on this site. Pictures on other sites are not shown, so they cannot tell who looks at your profile."
        defaultValue={me.avatar_url ?? ''}
        error={problem.fields.avatar_url}
      />
      <label className="check">
        <input type="checkbox" name="show_presence" defaultChecked={me.show_presence} /> Show others when I am
        online
      </label>
      <FormError message={problem.message} />
      <DialogActions onCancel={onDone} label="Save" busyLabel="Saving…" busy={save.isPending} />
    </form>
  );
}
