// A person's profile, opened from their name; one's own can be edited here.

import type { Me, ProfileChanges, User } from '@protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, type FormEvent } from 'react';
import { endDeviceSession, listSessions, updateMe as patchMe } from '../api/auth';
import { activityLabel } from '../time';
import { setAvatar } from '../api/files';
import { keys, useAccountUpdate, useUser } from '../api/queries';
import { openDirectRoom } from '../api/rooms';
import { useSession } from '../api/session';
import { deviceName, displayName } from '../app/names';
import { AccountEmail } from './AccountEmail';
import { Avatar } from './Avatar';
import { PresenceText } from './PresenceDot';
import { navigate } from '../app/route';
import { openProfile, useUi } from '../app/ui-state';
import { Dialog } from './Dialog';
import { DialogActions, Field, FormError, formProblem } from './forms';
import { NotificationSettings } from './NotificationSettings';

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
  const applied = useAccountUpdate();
  const save = useMutation({
    mutationFn: (changes: ProfileChanges) => patchMe(changes),
    onSuccess: (updated) => {
      applied(updated);
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
    const showPresence = form.get('show_presence') === 'on';
    if (showPresence !== me.show_presence) changes.show_presence = showPresence;
    const sendReceipts = form.get('send_read_receipts') === 'on';
    if (sendReceipts !== me.send_read_receipts) changes.send_read_receipts = sendReceipts;
    if (Object.keys(changes).length === 0) onDone();
    else save.mutate(changes);
  };

  // The picture and the address change at once, each on its own (a form of its own for
  // the address: forms do not nest); the rest waits for Save.
  return (
    <div className="stack">
      <ProfileCard user={me} />
      <PictureChooser me={me} />
      <AccountEmail me={me} />
      <form className="stack" onSubmit={onSubmit}>
        <Field label="Display name" name="display_name" defaultValue={me.display_name ?? ''} error={problem.fields.display_name} />
        <Field label="Bio" name="bio" multiline rows={3} defaultValue={me.bio ?? ''} error={problem.fields.bio} />
        <label className="check">
          <input type="checkbox" name="show_presence" defaultChecked={me.show_presence} /> Show others when I am
          online
        </label>
        <label className="check">
          <input type="checkbox" name="send_read_receipts" defaultChecked={me.send_read_receipts} /> Show others
          when I have read their messages
        </label>
        <NotificationSettings />
        <Devices />
        <FormError message={problem.message} />
        <DialogActions onCancel={onDone} label="Save" busyLabel="Saving…" busy={save.isPending} />
      </form>
    </div>
  );
}

/** Uploads a new profile picture (at once: it does not wait for Save), or removes it. */
function PictureChooser({ me }: { me: Me }) {
  const applied = useAccountUpdate();
  const picker = useRef<HTMLInputElement>(null);
  const change = useMutation({
    mutationFn: (picture: File | null) => (picture ? setAvatar(picture) : patchMe({ avatar_url: '' })),
    onSuccess: applied,
  });
  const problem = formProblem(change.error);
  return (
    <div className="picture-chooser">
      <button
        type="button"
        className="button"
        disabled={change.isPending}
        onClick={() => picker.current?.click()}
      >
        {change.isPending ? 'Uploading…' : me.avatar_url ? 'Change picture' : 'Add a picture'}
      </button>
      {me.avatar_url && (
        <button type="button" className="link-button" disabled={change.isPending} onClick={() => change.mutate(null)}>
          Remove picture
        </button>
      )}
      <input
        ref={picker}
        type="file"
        accept="image/png,image/jpeg,image/gif,image/webp"
        hidden
        data-testid="avatar-input"
        onChange={(event) => {
          const picture = event.target.files?.[0];
          event.target.value = '';
          if (picture) change.mutate(picture);
        }}
      />
      <FormError message={problem.message} />
    </div>
  );
}

/** Where the account is signed in; any other device can be signed out from here. */
function Devices() {
  const sessions = useQuery({ queryKey: ['sessions'], queryFn: listSessions, staleTime: 0 });
  const end = useMutation({
    mutationFn: endDeviceSession,
    onSuccess: () => void sessions.refetch(),
  });
  if (!sessions.data) return null;
  return (
    <section className="devices" aria-label="Signed-in devices">
      <h2 className="section-title">Signed-in devices</h2>
      <ul>
        {sessions.data.sessions.map((session) => (
          <li key={session.id}>
            <span className="device-text">
              <span className="device-name">{deviceName(session.user_agent)}</span>
              <span className="muted">
                {session.current
                  ? 'This device'
                  : `${session.ip_address || 'unknown address'} · last used ${
                      session.last_used_at ? activityLabel(session.last_used_at) : 'never'
                    }`}
              </span>
            </span>
            {!session.current && (
              <button
                type="button"
                className="button"
                disabled={end.isPending}
                onClick={() => end.mutate(session.id)}
              >
                Sign out
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
