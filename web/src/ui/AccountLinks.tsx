// The pages a mailed link opens: choosing a new password (a reset ends every session, so
// the person signs in again with it), and confirming an email address. Both work whether
// or not this browser is signed in.

import { useMutation, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent, type ReactNode } from 'react';
import { resetPassword, verifyEmail } from '../api/auth';
import { ApiError } from '../api/client';
import { endSession } from '../api/session';
import { navigate } from '../app/route';
import { Field, FormError, formProblem } from './forms';

function LinkPage({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="auth-screen">
      <div className="auth-card">
        <p className="brand" aria-hidden="true">
          Chat
        </p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

function linkProblem(error: unknown): string | null {
  if (error instanceof ApiError && error.code === 'invalid_link') {
    return 'This link has expired or was already used. Ask for a new one from the sign-in page.';
  }
  return null;
}

function ToSignIn({ label = 'Go to sign in' }: { label?: string }) {
  return (
    <button type="button" className="button primary" onClick={() => navigate({ screen: 'home' })}>
      {label}
    </button>
  );
}

export function ResetPasswordPage({ token }: { token: string }) {
  const [mismatch, setMismatch] = useState(false);
  const reset = useMutation({
    mutationFn: (password: string) => resetPassword(token, password),
    // Every session of the account just ended, this browser's too.
    onSuccess: () => endSession('Your password is changed. Sign in with the new one.'),
  });
  const problem = formProblem(reset.error);
  const expired = linkProblem(reset.error);

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const password = String(form.get('password') ?? '');
    const again = String(form.get('password_again') ?? '');
    setMismatch(password !== again);
    if (password === again) reset.mutate(password);
  };

  if (reset.isSuccess) {
    return (
      <LinkPage title="Password changed">
        <p role="status">Your password is changed, and every device was signed out.</p>
        <ToSignIn label="Sign in" />
      </LinkPage>
    );
  }
  return (
    <LinkPage title="Choose a new password">
      {expired ? (
        <>
          <p role="alert" className="form-error">
            {expired}
          </p>
          <ToSignIn />
        </>
      ) : (
        <form className="stack" onSubmit={onSubmit} onChange={() => setMismatch(false)}>
          <Field
            label="New password"
            name="password"
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            maxLength={128}
            hint="At least 8 characters. Every device signs in again with it."
            autoFocus
            error={problem.fields.password}
          />
          <Field
            label="New password again"
            name="password_again"
            type="password"
            autoComplete="new-password"
            required
            error={mismatch ? 'The two passwords differ.' : undefined}
          />
          <FormError message={problem.message} />
          <button type="submit" className="button primary" disabled={reset.isPending}>
            {reset.isPending ? 'Saving…' : 'Set the new password'}
          </button>
        </form>
      )}
    </LinkPage>
  );
}

export function VerifyEmailPage({ token }: { token: string }) {
  const verified = useQuery({
    queryKey: ['verify-email', token],
    queryFn: () => verifyEmail(token),
    retry: false,
    staleTime: Infinity,
  });
  return (
    <LinkPage title="Confirm your email">
      {verified.isPending ? (
        <p role="status">Confirming…</p>
      ) : verified.isSuccess ? (
        <p role="status">{verified.data.email} is confirmed. Thank you!</p>
      ) : (
        <p role="alert" className="form-error">
          {linkProblem(verified.error) ?? formProblem(verified.error).message}
        </p>
      )}
      <ToSignIn label="Open the chat" />
    </LinkPage>
  );
}
