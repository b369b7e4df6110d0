// The account's address in one's own profile: which it is, whether it is confirmed, and
// moving the account to another one with the current password. The server mails the new
// address a confirmation link and tells the old one.

import type { EmailChange, Me } from '@protocol';
import { useMutation } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { changeEmail } from '../api/auth';
import { ApiError } from '../api/client';
import { useAccountUpdate } from '../api/queries';
import { DialogActions, Field, formProblem } from './forms';

/** The form's fields, by their names in the request body, as the person reads them. */
const LABELS = { email: 'New email', password: 'Current password' } as const;
type FieldName = keyof typeof LABELS;

interface ChangeProblem {
  message: string;
  /** The fields the message is about, marked invalid. */
  fields: FieldName[];
}

/** A refused change as the form shows it: what went wrong, and which fields that concerns. */
function changeProblem(error: unknown): ChangeProblem | null {
  if (!error) return null;
  if (!(error instanceof ApiError)) return { message: formProblem(error).message ?? '', fields: [] };
  switch (error.code) {
    case 'wrong_password':
      return { message: 'That is not your current password.', fields: ['password'] };
    case 'email_taken':
      return { message: 'Another account uses that address.', fields: ['email'] };
    case 'too_many_attempts':
    case 'rate_limited':
      return { message: 'Too many tries; wait a little and try again.', fields: [] };
    case 'validation_failed': {
      const fields = (Object.keys(LABELS) as FieldName[]).filter((name) => error.fields[name]);
      if (fields.length === 0) return { message: error.message, fields: [] };
      const message = fields.map((name) => sentence(`${LABELS[name]} ${error.fields[name]}`)).join(' ');
      return { message, fields };
    }
    default:
      return { message: error.message, fields: [] };
  }
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

export function AccountEmail({ me }: { me: Me }) {
  const applied = useAccountUpdate();
  const [open, setOpen] = useState(false);
  /** What the last change did, for the status line. */
  const [done, setDone] = useState('');
  const alertId = useId();
  const opener = useRef<HTMLButtonElement>(null);
  const wasOpen = useRef(false);

  const change = useMutation({
    mutationFn: (body: EmailChange) => changeEmail(body),
    onSuccess: (updated) => {
      const before = me.email;
      applied(updated);
      setDone(
        updated.email.toLowerCase() === before.toLowerCase()
          ? `${updated.email} is already your address.`
          : `We mailed a confirmation link to ${updated.email}.`,
      );
      setOpen(false);
    },
  });
  const problem = changeProblem(change.error);

  // Closing the form puts focus back on the button that opened it, not on the page.
  useEffect(() => {
    if (!open && wasOpen.current) opener.current?.focus();
    wasOpen.current = open;
  }, [open]);

  const show = () => {
    change.reset();
    setDone('');
    setOpen(true);
  };
  const hide = () => {
    change.reset();
    setOpen(false);
  };

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    change.mutate({
      email: String(form.get('email') ?? '').trim(),
      password: String(form.get('password') ?? ''),
    });
  };

  /** Marks a field invalid and points it at the message when the message is about it. */
  const invalid = (name: FieldName) =>
    problem?.fields.includes(name) ? { 'aria-invalid': true, 'aria-describedby': alertId } : {};

  return (
    <div className="account-email">
      <p className="muted">
        Signed in as {me.email}
        {!me.email_verified && ' (not confirmed yet: open the link we mailed you)'}
      </p>
      {!open && (
        <button ref={opener} type="button" className="link-button" onClick={show}>
          Change email
        </button>
      )}
      {open && (
        <form className="stack email-change" aria-label="Change your email" onSubmit={onSubmit}>
          <Field
            label={LABELS.email}
            name="email"
            type="email"
            autoComplete="email"
            required
            autoFocus
            {...invalid('email')}
          />
          <Field
            label={LABELS.password}
            name="password"
            type="password"
            autoComplete="current-password"
            required
            {...invalid('password')}
          />
          {problem && (
            <p id={alertId} role="alert" className="form-error">
              {problem.message}
            </p>
          )}
          <DialogActions onCancel={hide} label="Change email" busyLabel="Changing email…" busy={change.isPending} />
        </form>
      )}
      <p role="status" className="field-hint account-email-status">
        {done}
      </p>
    </div>
  );
}
