// A room's notifications, for every member (direct rooms too): the bell in the room's
// header, crossed out when the room notifies nothing, and the dialog it opens to choose the
// room's level or mute it for a while. Each choice is saved at once.

import type { NotificationLevel, Room, RoomNotifications, RoomNotificationsUpdate } from '@protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { setRoomNotifications } from '../api/notifications';
import { keys, useAccount, useRoomNotifications } from '../api/queries';
import {
  MUTE_LENGTHS,
  ROOM_LEVELS,
  defaultChoiceLabel,
  levelUpdate,
  muteStatus,
  muteUpdate,
} from '../notifications/levels';
import { Dialog } from './Dialog';
import { FormError, formProblem } from './forms';

/** The header's bell, and the dialog behind it. */
export function RoomNotificationsButton({ room, label }: { room: Room; label: string }) {
  const [open, setOpen] = useState(false);
  const { data: settings } = useRoomNotifications(room.id);
  const silent = settings?.effective === 'none';
  const name = !silent
    ? 'Notifications'
    : muteStatus(settings) !== null
      ? 'Notifications (muted)'
      : 'Notifications (off)';
  return (
    <>
      <button
        type="button"
        className="icon-button"
        aria-label={name}
        title={name}
        aria-haspopup="dialog"
        onClick={() => setOpen(true)}
      >
        <BellIcon off={silent} />
      </button>
      <Dialog open={open} title={`Notifications for ${label}`} onClose={() => setOpen(false)}>
        <RoomNotificationSettings room={room} onDone={() => setOpen(false)} />
      </Dialog>
    </>
  );
}

/** A room's level, or the default (the account's). */
type Choice = NotificationLevel | 'default';

function RoomNotificationSettings({ room, onDone }: { room: Room; onDone: () => void }) {
  const settings = useRoomNotifications(room.id);
  const account = useAccount();
  const queryClient = useQueryClient();
  const hintId = useId();
  const muteId = useId();
  /** The level being saved: shown at once, as a radio button must be. */
  const [choosing, setChoosing] = useState<Choice | null>(null);
  const save = useMutation({
    mutationFn: (update: RoomNotificationsUpdate) => setRoomNotifications(room.id, update),
    onSuccess: (updated) => queryClient.setQueryData(keys.roomNotifications(room.id), updated),
    onSettled: () => setChoosing(null),
  });

  if (settings.isPending) return <p role="status">Loading…</p>;
  if (settings.isError) {
    return (
      <p role="alert" className="form-error">
        This room’s notification settings could not be loaded.{' '}
        <button type="button" className="link-button" onClick={() => void settings.refetch()}>
          Try again
        </button>
      </p>
    );
  }
  const current: RoomNotifications = settings.data;
  const chosen = choosing ?? current.level ?? 'default';
  const muted = muteStatus(current);
  const choices: { value: Choice; label: string }[] = [
    { value: 'default', label: defaultChoiceLabel(room.kind, account.data?.notification_level) },
    ...ROOM_LEVELS.map((choice) => ({ value: choice.level, label: choice.label })),
  ];
  const setLevel = (choice: Choice) => {
    setChoosing(choice);
    save.mutate(levelUpdate(current, choice === 'default' ? null : choice));
  };

  return (
    <div className="stack">
      <fieldset className="choice" aria-describedby={hintId}>
        <legend>Notify me about</legend>
        {choices.map((choice) => (
          <label key={choice.value}>
            <input
              type="radio"
              name="room-notification-level"
              value={choice.value}
              checked={chosen === choice.value}
              onChange={() => setLevel(choice.value)}
            />{' '}
            {choice.label}
          </label>
        ))}
        <p id={hintId} className="field-hint">
          The default is the one in your profile.
        </p>
      </fieldset>

      <section className="mute" aria-labelledby={muteId}>
        <h3 className="section-title" id={muteId}>
          Mute
        </h3>
        {muted ? (
          <div className="mute-choices">
            <p role="status">{muted}</p>
            <button
              type="button"
              className="button"
              onClick={() => save.mutate(muteUpdate(current, null))}
            >
              Unmute
            </button>
          </div>
        ) : (
          <>
            <p className="muted">Nothing from this room for a while, whatever the level above.</p>
            <div className="mute-choices">
              {MUTE_LENGTHS.map((length) => (
                <button
                  key={length.label}
                  type="button"
                  className="button"
                  onClick={() => save.mutate(muteUpdate(current, length.ms))}
                >
                  Mute for {length.label}
                </button>
              ))}
            </div>
          </>
        )}
      </section>

      <FormError message={formProblem(save.error).message} />
      <div className="dialog-actions">
        <button type="button" className="button primary" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

/** A bell; crossed out for a room that notifies nothing. */
function BellIcon({ off }: { off: boolean }) {
  return (
    <svg
      width="20"
      height="20"
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth="2"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
      <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
      {off && <path d="M3 3l18 18" />}
    </svg>
  );
}
