// The Notifications section of one's own profile: what rooms tell the person by default,
// and whether this browser shows it. Both take effect at once (no Save): the switch has to,
// since the browser asks for permission on its click.

import type { NotificationLevel } from '@protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useState } from 'react';
import { updateMe as patchMe } from '../api/auth';
import { keys, useAccount } from '../api/queries';
import { updateMe } from '../api/session';
import {
  PushSetupError,
  browserPush,
  offHint,
  readDevicePush,
  turnOffDevicePush,
  turnOnDevicePush,
  type DevicePush,
} from '../notifications/device-push';
import { ACCOUNT_LEVELS } from '../notifications/levels';
import { FormError, formProblem } from './forms';

export function NotificationSettings() {
  const headingId = useId();
  return (
    <section className="notification-settings" aria-labelledby={headingId}>
      <h2 className="section-title" id={headingId}>
        Notifications
      </h2>
      <AccountLevel />
      <DeviceSwitch />
    </section>
  );
}

/** The account's level: what a room without its own setting notifies. */
function AccountLevel() {
  const account = useAccount();
  const queryClient = useQueryClient();
  const hintId = useId();
  /** The choice being saved: shown at once, as a radio button must be. */
  const [chosen, setChosen] = useState<NotificationLevel | null>(null);
  const save = useMutation({
    mutationFn: (level: NotificationLevel) => patchMe({ notification_level: level }),
    onSuccess: (updated) => {
      queryClient.setQueryData(keys.me, updated);
      updateMe(updated);
    },
    onSettled: () => setChosen(null),
  });
  const level = chosen ?? account.data?.notification_level;

  if (account.isPending) return <p className="muted">Loading your notification settings…</p>;
  if (account.isError || level === undefined) {
    // `notification_level` is absent when the server could not ask for it.
    return (
      <p role="alert" className="form-error">
        Your notification settings could not be loaded.{' '}
        <button type="button" className="link-button" onClick={() => void account.refetch()}>
          Try again
        </button>
      </p>
    );
  }
  return (
    <fieldset className="choice" aria-describedby={hintId}>
      <legend>Notify me about</legend>
      {ACCOUNT_LEVELS.map((choice) => (
        <label key={choice.level}>
          <input
            type="radio"
            name="notification_level"
            value={choice.level}
            checked={level === choice.level}
            onChange={() => {
              setChosen(choice.level);
              save.mutate(choice.level);
            }}
          />{' '}
          {choice.label}
        </label>
      ))}
      <p id={hintId} className="field-hint">
        Every room follows this unless you change it there, with the bell in its header.
      </p>
      <FormError message={formProblem(save.error).message} />
      <p role="status" className="field-hint">
        {save.isSuccess ? 'Saved.' : ''}
      </p>
    </fieldset>
  );
}

/** "Notify me on this device": this browser's push subscription, on or off. */
function DeviceSwitch() {
  const [browser] = useState(browserPush);
  /** Null until read from the browser. */
  const [state, setState] = useState<DevicePush | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const statusId = useId();

  useEffect(() => {
    let current = true;
    void readDevicePush(browser).then((read) => current && setState(read));
    return () => {
      current = false;
    };
  }, [browser]);

  const toggle = () => {
    if (busy || !state || state.status === 'unsupported') return;
    setProblem(null);
    setBusy(true);
    // Turning on asks for permission in its first step, still within this click: browsers
    // only ask during one.
    const change = state.status === 'on' ? turnOffDevicePush(browser) : turnOnDevicePush(browser);
    change
      .then(setState, async (error: unknown) => {
        setProblem(error instanceof PushSetupError ? error.message : 'Something went wrong. Please try again.');
        setState(await readDevicePush(browser));
      })
      .finally(() => setBusy(false));
  };

  const on = state?.status === 'on';
  const status = !state
    ? 'Checking this browser…'
    : busy
      ? on
        ? 'Turning off…'
        : 'Turning on…'
      : on
        ? 'On: this browser shows new messages while the chat is out of sight.'
        : ((problem ? null : offHint(state)) ?? 'Off: this browser shows nothing.');
  return (
    <div className="device-push">
      <label className="check">
        <input
          type="checkbox"
          role="switch"
          checked={on}
          disabled={!state || state.status === 'unsupported'}
          aria-busy={busy || undefined}
          aria-describedby={statusId}
          onChange={toggle}
        />
        Notify me on this device
      </label>
      <p id={statusId} className="field-hint" aria-live="polite">
        {status}
      </p>
      <FormError message={problem} />
    </div>
  );
}
