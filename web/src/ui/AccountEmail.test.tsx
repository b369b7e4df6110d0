// @vitest-environment jsdom
import type { EmailChange, Me } from '@protocol';
import { QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createQueryClient, keys } from '../api/queries';
import { endSession, useSession } from '../api/session';
import { openProfile } from '../app/ui-state';
import { ME } from '../test/frames';
import { ProfileDialog } from './ProfileDialog';
import { account } from '../test/accounts';

const me: Me = account();

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });
const refusal = (status: number, code: string, message: string, fields?: Record<string, string>) =>
  json({ error: { code, message, ...(fields ? { fields } : {}) } }, status);

/** What the server answers the next `PUT /api/auth/me/email`. */
let answer: (body: EmailChange) => Response | Promise<Response>;
const changes: EmailChange[] = [];
const fetchMock = vi.fn<typeof fetch>(async (input, init) => {
  const path = String(input);
  if (path === '/api/auth/me/email' && init?.method === 'PUT') {
    const body = JSON.parse(String(init.body)) as EmailChange;
    changes.push(body);
    return answer(body);
  }
  if (path === '/api/auth/me') return json(me);
  if (path === '/api/auth/sessions') return json({ sessions: [] });
  return json({ error: { code: 'not_found', message: 'not found' } }, 404);
});

function renderProfile() {
  const queryClient = createQueryClient();
  useSession.setState({ status: 'signed_in', me, notice: null });
  openProfile(ME);
  render(
    <QueryClientProvider client={queryClient}>
      <ProfileDialog />
    </QueryClientProvider>,
  );
  return queryClient;
}

/** Opens the form, fills it in and submits it; returns the form. */
function changeEmailTo(email: string, password: string) {
  fireEvent.click(screen.getByRole('button', { name: 'Change email' }));
  const form = screen.getByRole('form', { name: 'Change your email' });
  fireEvent.change(within(form).getByLabelText('New email'), { target: { value: email } });
  fireEvent.change(within(form).getByLabelText('Current password'), { target: { value: password } });
  fireEvent.click(within(form).getByRole('button', { name: 'Change email' }));
  return form;
}

const statusLine = () =>
  screen.getAllByRole('status').find((status) => status.classList.contains('account-email-status'))!;

beforeEach(() => {
  changes.length = 0;
  vi.stubGlobal('fetch', fetchMock);
});

afterEach(() => {
  cleanup();
  openProfile(null);
  endSession();
  vi.unstubAllGlobals();
});

describe("changing one's email", () => {
  it('shows the new, unconfirmed address everywhere and says where the link went', async () => {
    let reply!: () => void;
    answer = ({ email }) =>
      new Promise((resolve) => {
        reply = () => resolve(json({ ...me, email, email_verified: false }));
      });
    const queryClient = renderProfile();
    expect(screen.getByText('Signed in as grace@example.com')).toBeTruthy();

    const form = changeEmailTo('  grace.hopper@example.org ', 'correct horse');
    // Sending: the button cannot send it twice.
    const sending = await within(form).findByRole('button', { name: 'Changing email…' });
    expect((sending as HTMLButtonElement).disabled).toBe(true);
    reply();

    await waitFor(() => expect(statusLine().textContent).toBe('We mailed a confirmation link to grace.hopper@example.org.'));
    expect(changes).toEqual([{ email: 'grace.hopper@example.org', password: 'correct horse' }]);
    expect(screen.queryByRole('form', { name: 'Change your email' })).toBeNull();
    expect(
      screen.getByText('Signed in as grace.hopper@example.org (not confirmed yet: open the link we mailed you)'),
    ).toBeTruthy();
    // The rest of the app sees it too.
    expect(useSession.getState().me?.email).toBe('grace.hopper@example.org');
    expect(queryClient.getQueryData<Me>(keys.me)?.email).toBe('grace.hopper@example.org');
    // Focus goes back to the button that opened the form.
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Change email' }));
  });

  it('says so when the password is wrong, and stays signed in (a 403 here is no session problem)', async () => {
    answer = () => refusal(403, 'wrong_password', 'the password is wrong', { password: 'is not your current password' });
    renderProfile();

    const form = changeEmailTo('grace.hopper@example.org', 'wrong horse');

    const alert = await within(form).findByRole('alert');
    expect(alert.textContent).toBe('That is not your current password.');
    const password = within(form).getByLabelText('Current password');
    expect(password.getAttribute('aria-invalid')).toBe('true');
    expect(password.getAttribute('aria-describedby')).toBe(alert.id);
    expect(within(form).getByLabelText('New email').getAttribute('aria-invalid')).toBeNull();
    // Still signed in, with the old address, and no token renewal was tried.
    expect(useSession.getState().status).toBe('signed_in');
    expect(useSession.getState().me?.email).toBe('grace@example.com');
    expect(fetchMock.mock.calls.map(([url]) => String(url))).not.toContain('/api/auth/refresh');
    expect(screen.getByRole('dialog', { hidden: true })).toBeTruthy();
    expect(screen.getByText('Signed in as grace@example.com')).toBeTruthy();
    expect(statusLine().textContent).toBe('');
  });

  it.each([
    ['email_taken', () => refusal(409, 'email_taken', 'email is taken'), 'Another account uses that address.', true],
    [
      'validation_failed',
      () => refusal(422, 'validation_failed', 'invalid input', { email: 'must be an email address like name@example.com' }),
      'New email must be an email address like name@example.com.',
      true,
    ],
    [
      'too_many_attempts',
      () => refusal(429, 'too_many_attempts', 'too many attempts'),
      'Too many tries; wait a little and try again.',
      false,
    ],
  ] as const)('words %s plainly', async (_code, response, wording, emailInvalid) => {
    answer = response;
    renderProfile();

    const form = changeEmailTo('ada@example.com', 'correct horse');

    expect((await within(form).findByRole('alert')).textContent).toBe(wording);
    const email = within(form).getByLabelText('New email');
    expect(email.getAttribute('aria-invalid')).toBe(emailInvalid ? 'true' : null);
    expect(useSession.getState().status).toBe('signed_in');
  });

  it('cancels without sending, and opens again empty of the last error', async () => {
    answer = () => refusal(409, 'email_taken', 'email is taken');
    renderProfile();
    const form = changeEmailTo('ada@example.com', 'correct horse');
    await within(form).findByRole('alert');

    fireEvent.click(within(form).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('form', { name: 'Change your email' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Change email' }));
    const again = screen.getByRole('form', { name: 'Change your email' });
    expect(within(again).queryByRole('alert')).toBeNull();
    expect(changes).toHaveLength(1);
    expect(useSession.getState().me?.email).toBe('grace@example.com');
  });
});
