// What an admin or the owner can do to one member: change their role, hand the room
// over, remove them, or ban them (for a while or for good). Offered only where the
// rooms service allows it (app/permissions.ts).

import type { Member, NewBan, Role, Room } from '@protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { keys, useUser } from '../api/queries';
import { banMember, kickMember, setMemberRole } from '../api/rooms';
import { displayName } from '../app/names';
import { hasActions, type MemberActions } from '../app/permissions';
import { showNotice } from '../app/ui-state';
import { Dialog } from './Dialog';
import { DialogActions, FormError, formProblem } from './forms';
import { Menu } from './Menu';

const ROLE_ACTION: Record<Role, string> = {
  member: 'Make member',
  admin: 'Make admin',
  owner: 'Make owner…',
};

/** How long a ban lasts, as offered. */
const BAN_LENGTHS = [
  { label: '1 hour', ms: 3_600_000 },
  { label: '1 day', ms: 86_400_000 },
  { label: '7 days', ms: 7 * 86_400_000 },
  { label: 'Until unbanned', ms: null },
] as const;

type Confirming = 'owner' | 'ban' | null;

export function MemberMenu({ room, member, actions }: { room: Room; member: Member; actions: MemberActions }) {
  const { data: user } = useUser(member.user_id);
  const name = displayName(user);
  const [confirming, setConfirming] = useState<Confirming>(null);
  const queryClient = useQueryClient();
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: keys.members(room.id) });
    void queryClient.invalidateQueries({ queryKey: keys.room(room.id) });
  };
  const role = useMutation({
    mutationFn: (next: Role) => setMemberRole(room.id, member.user_id, next),
    onSuccess: (_, next) => {
      refresh();
      setConfirming(null);
      if (next === 'owner') void queryClient.invalidateQueries({ queryKey: keys.myRooms });
    },
  });
  const kick = useMutation({
    mutationFn: () => kickMember(room.id, member.user_id),
    onSuccess: () => {
      refresh();
      showNotice(`${name} was removed from #${room.name}.`);
    },
  });
  if (!hasActions(actions)) return null;
  const failed = role.error ?? kick.error;

  return (
    <>
      <Menu button="⋯" buttonClass="icon-button" label={`Manage ${name}`} labelButton className="member-menu">
          {actions.roles.map((next) => (
            <button
              key={next}
              type="button"
              className="menu-item"
              disabled={role.isPending}
              onClick={() => (next === 'owner' ? setConfirming('owner') : role.mutate(next))}
            >
              {ROLE_ACTION[next]}
            </button>
          ))}
          {actions.kick && (
            <button type="button" className="menu-item" disabled={kick.isPending} onClick={() => kick.mutate()}>
              Remove from room
            </button>
          )}
          {actions.ban && (
            <button type="button" className="menu-item danger-text" onClick={() => setConfirming('ban')}>
              Ban from room…
            </button>
          )}
      </Menu>
      {failed && confirming === null && <FormError message={formProblem(failed).message} />}

      <Dialog open={confirming === 'owner'} title={`Make ${name} the owner?`} onClose={() => setConfirming(null)}>
        <p>
          {name} will own #{room.name}. You stay in the room as an admin and can no longer change roles or delete it.
        </p>
        <FormError message={formProblem(role.error).message} />
        <DialogActions
          onCancel={() => setConfirming(null)}
          label="Make owner"
          busyLabel="Handing over…"
          busy={role.isPending}
          tone="danger"
          onAction={() => role.mutate('owner')}
        />
      </Dialog>

      <Dialog open={confirming === 'ban'} title={`Ban ${name}?`} onClose={() => setConfirming(null)}>
        <BanForm room={room} member={member} name={name} onDone={() => setConfirming(null)} onBanned={refresh} />
      </Dialog>
    </>
  );
}

function BanForm({
  room,
  member,
  name,
  onDone,
  onBanned,
}: {
  room: Room;
  member: Member;
  name: string;
  onDone: () => void;
  onBanned: () => void;
}) {
  const ban = useMutation({
    mutationFn: (body: NewBan) => banMember(room.id, body),
    onSuccess: () => {
      onBanned();
      onDone();
      showNotice(`${name} was banned from #${room.name}.`);
    },
  });
  const problem = formProblem(ban.error);
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const length = BAN_LENGTHS[Number(form.get('length'))]?.ms ?? null;
    const reason = String(form.get('reason') ?? '').trim();
    const body: NewBan = { user_id: member.user_id };
    if (length !== null) body.until = new Date(Date.now() + length).toISOString();
    if (reason) body.reason = reason;
    ban.mutate(body);
  };
  return (
    <form className="stack" onSubmit={onSubmit}>
      <p>
        {name} is removed from #{room.name} and cannot join again or be invited while the ban lasts.
      </p>
      <fieldset className="choice">
        <legend>For how long</legend>
        {BAN_LENGTHS.map((choice, index) => (
          <label key={choice.label}>
            <input type="radio" name="length" value={index} defaultChecked={index === 1} /> {choice.label}
          </label>
        ))}
        {problem.fields.until && <p className="field-error">{problem.fields.until}</p>}
      </fieldset>
      <div className="field">
        <label htmlFor="ban-reason">Reason (optional)</label>
        <input id="ban-reason" name="reason" maxLength={500} aria-invalid={problem.fields.reason ? true : undefined} />
        {problem.fields.reason && <p className="field-error">{problem.fields.reason}</p>}
      </div>
      <FormError message={problem.message} />
      <DialogActions onCancel={onDone} label={`Ban ${name}`} busyLabel="Banning…" busy={ban.isPending} tone="danger" />
    </form>
  );
}
