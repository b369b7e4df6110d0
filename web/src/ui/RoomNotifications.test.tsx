// @vitest-environment jsdom
import type { Me, Room, RoomNotifications, RoomNotificationsUpdate } from '@protocol';
import { QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createQueryClient } from '../api/queries';
import { ME, ROOM } from '../test/frames';
import { RoomNotificationsButton } from './RoomNotifications';
import { account } from '../test/accounts';

const room: Room = {
  id: ROOM,
  kind: 'public',
  name: 'hiking',
  description: null,
  topic: null,
  owner_id: ME,
  member_count: 2,
  created_at: '2026-11-21T05:00:00.000Z',
  my_role: 'member',
};

const me: Me = account();

/** The server: it keeps the room's settings as the last PUT left them. */
let stored: RoomNotifications;
const puts: RoomNotificationsUpdate[] = [];
const fetchMock = vi.fn<typeof fetch>(async (input, init) => {
  const path = String(input);
  const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200 });
  if (path === '/api/auth/me') return json(me);
  if (path === `/api/rooms/${ROOM}/notifications` && init?.method === 'PUT') {
    const update = JSON.parse(String(init.body)) as RoomNotificationsUpdate;
    puts.push(update);
    const muted = update.muted_until !== undefined;
    stored = { room_id: ROOM, ...update, effective: muted ? 'none' : (update.level ?? 'mentions') };
    return json(stored);
  }
  if (path === `/api/rooms/${ROOM}/notifications`) return json(stored);
  return new Response('{}', { status: 404 });
});

beforeEach(() => {
  stored = { room_id: ROOM, effective: 'mentions' };
  puts.length = 0;
  vi.stubGlobal('fetch', fetchMock);
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("a room's notifications", () => {
  it('sets the level, mutes and unmutes, each keeping the other', async () => {
    render(
      <QueryClientProvider client={createQueryClient()}>
        <RoomNotificationsButton room={room} label="#hiking" />
      </QueryClientProvider>,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Notifications' }));
    const byDefault = await screen.findByRole('radio', { name: 'Default (mentions only)' });
    expect((byDefault as HTMLInputElement).checked).toBe(true);

    fireEvent.click(screen.getByRole('radio', { name: 'All messages' }));
    await waitFor(() => expect(puts).toEqual([{ level: 'all' }]));
    await waitFor(() => expect((screen.getByRole('radio', { name: 'All messages' }) as HTMLInputElement).checked).toBe(true));

    fireEvent.click(screen.getByRole('button', { name: 'Mute for 8 hours' }));
    expect(await screen.findByText(/^Muted until /)).toBeTruthy();
    expect(puts[1]).toMatchObject({ level: 'all', muted_until: expect.any(String) });
    expect(Date.parse(puts[1]!.muted_until!) - Date.now()).toBeGreaterThan(7.9 * 3_600_000);
    // The bell says so too.
    expect(screen.getByRole('button', { name: 'Notifications (muted)' })).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Unmute' }));
    expect(await screen.findByRole('button', { name: 'Mute for 1 hour' })).toBeTruthy();
    expect(puts[2]).toEqual({ level: 'all' });
  });
});
