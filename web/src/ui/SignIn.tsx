// The first screen: sign in, or create an account. Refusals show next to the field the
// API names (`fields`), or above the button.

import type { Credentials, Registration } from '@protocol';
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { forgotPassword, login, register } from '../api/auth';
import { startSession, useSession } from '../api/session';
import { Field, FormError, formProblem } from './forms';

type Mode = 'sign_in' | 'register';

function text(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : '';
}

export function SignIn() {
  const [forgotten, setForgotten] = useState(false);
  if (forgotten) return <ForgotPassword onBack={() => setForgotten(false)} />;
  return <SignInOrRegister onForgot={() => setForgotten(true)} />;
}

function SignInOrRegister({ onForgot }: { onForgot: () => void }) {
  const notice = useSession((s) => s.notice);
  const [mode, setMode] = useState<Mode>('sign_in');
  const submit = useMutation({
    mutationFn: (form: FormData) => {
      if (mode === 'sign_in') {
        const credentials: Credentials = {
          login: text(form, 'login').trim(),
          password: text(form, 'password'),
        };
        return login(credentials);
      }
      const registration: Registration = {
        username: text(form, 'username').trim(),
        email: text(form, 'email').trim(),
        password: text(form, 'password'),
      };
      const displayName = text(form, 'display_name').trim();
      if (displayName) registration.display_name = displayName;
      return register(registration);
    },
    onSuccess: startSession,
  });
  const problem = formProblem(submit.error);

  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    submit.mutate(new FormData(event.currentTarget));
  };

  const switchTo = (next: Mode) => {
    submit.reset();
    setMode(next);
  };

  return (
    <main className="auth-screen">
      <div className="auth-card">
        <p className="brand" aria-hidden="true">
          Chat
        </p>
        <h1>{mode === 'sign_in' ? 'Sign in' : 'Create an account'}</h1>
        {notice && (
          <p role="status" className="notice">
            {notice}
          </p>
        )}
        <form key={mode} onSubmit={onSubmit} className="stack">
          {mode === 'sign_in' ? (
            <>
              <Field
                label="Username or email"
                name="login"
                autoComplete="username"
                required
                autoFocus
                error={problem.fields.login}
              />
              <Field
                label="Password"
                name="password"
                type="password"
                autoComplete="current-password"
                required
                error={problem.fields.password}
              />
            </>
          ) : (
            <>
              <Field
                label="Username"
                name="username"
                autoComplete="username"
                required
                minLength={3}
                maxLength={32}
                hint="3 to 32 letters, digits, and _ . -"
                autoFocus
                error={problem.fields.username}
              />
              <Field
                label="Display name (optional)"
                name="display_name"
                autoComplete="name"
                error={problem.fields.display_name}
              />
              <Field
                label="Email"
                name="email"
                type="email"
                autoComplete="email"
                required
                error={problem.fields.email}
              />
              <Field
                label="Password"
                name="password"
                type="password"
                autoComplete="new-password"
                required
                minLength={8}
                maxLength={128}
                hint="At least 8 characters"
                error={problem.fields.password}
              />
            </>
          )}
          <FormError message={problem.message} />
          <button type="submit" className="button primary" disabled={submit.isPending}>
            {mode === 'sign_in'
              ? submit.isPending
                ? 'Signing in…'
                : 'Sign in'
              : submit.isPending
                ? 'Creating account…'
                : 'Create account'}
          </button>
        </form>
        {mode === 'sign_in' && (
          <p className="auth-switch">
            <button type="button" className="link-button" onClick={onForgot}>
              Forgot your password?
            </button>
          </p>
        )}
        <p className="auth-switch">
          {mode === 'sign_in' ? 'New here?' : 'Already have an account?'}{' '}
          <button
            type="button"
            className="link-button"
            onClick={() => switchTo(mode === 'sign_in' ? 'register' : 'sign_in')}
          >
            {mode === 'sign_in' ? 'Create an account' : 'Sign in'}
          </button>
        </p>
      </div>
    </main>
  );
}

/** Asks for a reset link; says the same whether or not the login names an account. */
function ForgotPassword({ onBack }: { onBack: () => void }) {
  const ask = useMutation({ mutationFn: (login: string) => forgotPassword(login) });
  const problem = formProblem(ask.error);
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    ask.mutate(text(new FormData(event.currentTarget), 'login').trim());
  };
  return (
    <main className="auth-screen">
      <div className="auth-card">
        <p className="brand" aria-hidden="true">
          Chat
        </p>
        <h1>Reset your password</h1>
        {ask.isSuccess ? (
          <p role="status" className="notice">
            If an account matches, a link to choose a new password is on its way to its email address. It works
            for 30 minutes.
          </p>
        ) : (
          <form className="stack" onSubmit={onSubmit}>
            <p className="muted">We will mail a link to choose a new password.</p>
            <Field
              label="Username or email"
              name="login"
              autoComplete="username"
              required
              autoFocus
              error={problem.fields.login}
            />
            <FormError message={problem.message} />
            <button type="submit" className="button primary" disabled={ask.isPending}>
              {ask.isPending ? 'Sending…' : 'Send the link'}
            </button>
          </form>
        )}
        <p className="auth-switch">
          <button type="button" className="link-button" onClick={onBack}>
            Back to sign in
          </button>
        </p>
      </div>
    </main>
  );
}
