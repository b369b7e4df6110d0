// @vitest-environment jsdom
import { QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createQueryClient } from '../api/queries';
import { endSession, useSession } from '../api/session';
import { SignIn } from './SignIn';

const fetchMock = vi.fn<typeof fetch>();

function renderSignIn() {
  return render(
    <QueryClientProvider client={createQueryClient()}>
      <SignIn />
    </QueryClientProvider>,
  );
}

beforeEach(() => {
  vi.stubGlobal('fetch', fetchMock);
  fetchMock.mockReset();
});

afterEach(() => {
  cleanup();
  endSession();
  vi.unstubAllGlobals();
});

describe('signing in', () => {
  it('shows the field errors the API names next to their fields', async () => {
    fetchMock.mockResolvedValueOnce(
      new Response(
        JSON.stringify({
          error: {
            code: 'username_taken',
            message: 'username is taken',
            fields: { username: 'is already taken' },
          },
        }),
        { status: 409 },
      ),
    );
    renderSignIn();
    fireEvent.click(screen.getByRole('button', { name: 'Create an account' }));
    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'ada' } });
    fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'ada@example.com' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'correct horse' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create account' }));

    const username = screen.getByLabelText('Username');
    expect(await screen.findByText('is already taken')).toBeTruthy();
    expect(username.getAttribute('aria-invalid')).toBe('true');
    expect(username.getAttribute('aria-describedby')).toContain(
      screen.getByText('is already taken').id,
    );
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe('/api/auth/register');
    expect(JSON.parse(String(init?.body))).toEqual({
      username: 'ada',
      email: 'ada@example.com',
      password: 'correct horse',
      // The refresh token goes into an HttpOnly cookie, out of any script's reach.
      refresh_cookie: true,
    });
  });

  it('shows a refusal without fields above the button', async () => {
    fetchMock.mockResolvedValueOnce(
      new Response(
        JSON.stringify({ error: { code: 'invalid_credentials', message: 'Wrong login or password.' } }),
        { status: 401 },
      ),
    );
    renderSignIn();
    fireEvent.change(screen.getByLabelText('Username or email'), { target: { value: 'ada' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'nope nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Wrong login or password.');
    expect(useSession.getState().status).toBe('signed_out');
  });
});
