// @vitest-environment jsdom
import type { ClientFrame, Room, RoomList, ServerFrame } from '@protocol';
import { QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createQueryClient } from '../api/queries';
import { endSession, startSession } from '../api/session';
import { ALICE, EPOCH, ME, ROOM, ready } from '../test/frames';
import ChatShell from './ChatShell';

/** The browser's WebSocket, as far as the app uses it. */
class FakeSocket {
  static last: FakeSocket | null = null;
  readyState = 0;
  sent: ClientFrame[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  constructor() {
    FakeSocket.last = this;
  }
  send(data: string) {
    this.sent.push(JSON.parse(data) as ClientFrame);
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(frame: ServerFrame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

/** The socket the app opened (it opens it once it has a token). */
function opened(): FakeSocket {
  if (!FakeSocket.last) throw new Error('no socket yet');
  return FakeSocket.last;
}

const general: Room = {
  id: ROOM,
  kind: 'public',
  name: 'general',
  description: null,
  topic: 'Say hello',
  owner_id: ME,
  member_count: 2,
  created_at: '2026-11-21T05:00:00.000Z',
  my_role: 'owner',
};
const direct: Room = {
  ...general,
  id: '0193a6c1-0000-7000-8000-0000000000d1',
  kind: 'direct',
  name: '',
  topic: null,
  owner_id: null,
  my_role: 'member',
  direct_user_ids: [ME, ALICE],
  last_activity_at: '2026-11-21T05:30:00.000Z',
  last_message: {
    id: 'd1',
    room_id: '0193a6c1-0000-7000-8000-0000000000d1',
    sender_id: ALICE,
    client_msg_id: 'cd1',
    content: 'See you at nine',
    reply_to: null,
    reply_preview: null,
    kind: 'text',
    sent_at: '2026-11-21T05:30:00.000Z',
    edited_at: null,
    deleted_at: null,
    reactions: [],
    mentions: [],
    mentions_room: false,
    thread_root: null,
    thread: null,
    epoch: 1,
    position: 1,
  },
};

const fetchMock = vi.fn<typeof fetch>(async (input) => {
  const url = String(input);
  if (url.startsWith(`/api/rooms/${ROOM}/messages`)) {
    return new Response(JSON.stringify({ messages: [], has_older: false, has_newer: false }), {
      status: 200,
    });
  }
  if (url.startsWith('/api/rooms/mine')) {
    const body: RoomList = { rooms: [general, direct], next_cursor: null };
    return new Response(JSON.stringify(body), { status: 200 });
  }
  if (url === `/api/users?ids=${ALICE}`) {
    return new Response(
      JSON.stringify({ users: [{
        id: ALICE,
        username: 'alice',
        display_name: 'Alice Liddell',
        avatar_url: null,
        bio: null,
        created_at: '2026-11-21T05:00:00.000Z',
      }] }),
      { status: 200 },
    );
  }
  return new Response(JSON.stringify({ error: { code: 'not_found', message: 'no such route' } }), {
    status: 404,
  });
});

beforeEach(() => {
  FakeSocket.last = null;
  vi.stubGlobal('fetch', fetchMock);
  vi.stubGlobal('WebSocket', FakeSocket);
  window.location.hash = '';
  startSession({
    user: {
      id: ME,
      username: 'ada',
      email: 'ada@example.com',
      show_presence: true,
      send_read_receipts: true,
    email_verified: true,
      display_name: 'Ada',
      avatar_url: null,
      bio: null,
      created_at: '2026-11-21T05:00:00.000Z',
    },
    access_token: 'tok',
    refresh_token: 'ref',
    token_type: 'Bearer',
    expires_in: 900,
  });
});

afterEach(() => {
  cleanup();
  endSession();
  vi.unstubAllGlobals();
});

describe('the chat shell', () => {
  it('lists rooms and direct rooms, connects, and counts unread messages', async () => {
    render(
      <QueryClientProvider client={createQueryClient()}>
        <ChatShell />
      </QueryClientProvider>,
    );
    expect(await screen.findByRole('link', { name: /general/ })).toBeTruthy();
    expect(await screen.findByRole('link', { name: /Alice Liddell/ })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Log out' }));
    expect(screen.getByRole('button', { name: 'Log out on this device' })).toBeTruthy();

    const socket = await waitFor(opened);
    act(() => socket.open());
    expect(socket.sent[0]).toEqual({ type: 'auth', token: 'tok' });
    expect(screen.getByText('Connecting…')).toBeTruthy();
    act(() => socket.receive({ type: 'ready', ...ready([{ id: ROOM, epoch: EPOCH, position: 1 }]) }));
    act(() =>
      socket.receive({
        type: 'message.created',
        room: ROOM,
        epoch: EPOCH,
        position: 2,
        id: 'm2',
        at: '2026-11-21T06:00:00.000Z',
        message: {
          id: 'm2',
          room_id: ROOM,
          sender_id: ALICE,
          client_msg_id: 'c2',
          content: 'hi',
          reply_to: null,
          reply_preview: null,
          kind: 'text',
          sent_at: '2026-11-21T06:00:00.000Z',
          edited_at: null,
          deleted_at: null,
          reactions: [],
          mentions: [],
          mentions_room: false,
          thread_root: null,
          thread: null,
          epoch: EPOCH,
          position: 2,
        },
      }),
    );
    expect(screen.getByRole('link', { name: 'general, 1 unread' })).toBeTruthy();
    // Each room shows its newest message: from the room list, and live since.
    const roomLinks = screen.getAllByRole('link');
    const generalLink = roomLinks.find((link) => link.textContent?.startsWith('#general'))!;
    expect(generalLink.textContent).toMatch(/Alice: hi/);
    const directLink = roomLinks.find((link) => link.textContent?.includes('Alice Liddell'))!;
    expect(directLink.textContent).toMatch(/See you at nine$/);

    // The direct room's partner is on screen: the socket follows her presence.
    await waitFor(() =>
      expect(socket.sent).toContainEqual({ type: 'presence.subscribe', user_ids: [ALICE] }),
    );
    act(() =>
      socket.receive({ type: 'presence', users: [{ user_id: ALICE, status: 'online', last_seen: null }] }),
    );
    expect(await screen.findByRole('img', { name: 'Online' })).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: 'Create a room' }));
    expect(await screen.findByLabelText('Name')).toBeTruthy();
  });

  it('opens a room and sends from the composer over the socket', async () => {
    window.location.hash = `#/rooms/${ROOM}`;
    render(
      <QueryClientProvider client={createQueryClient()}>
        <ChatShell />
      </QueryClientProvider>,
    );
    const socket = await waitFor(opened);
    act(() => socket.open());
    act(() => socket.receive({ type: 'ready', ...ready([{ id: ROOM, epoch: EPOCH, position: 1 }]) }));
    expect(await screen.findByRole('heading', { name: '#general' })).toBeTruthy();
    const box = await screen.findByLabelText('Message #general');
    fireEvent.change(box, { target: { value: 'hello' } });
    fireEvent.keyDown(box, { key: 'Enter' });
    // Writing says so to the room; sending needs no `stop` (the message ends it).
    // The room is in view: the server pushes no notification of it.
    expect(socket.sent).toContainEqual({ type: 'focus', room: ROOM });
    const written = socket.sent.filter((frame) => frame.type !== 'presence.subscribe' && frame.type !== 'focus');
    expect(written[1]).toEqual({ type: 'typing', room: ROOM, state: 'start' });
    expect(written[2]).toMatchObject({ type: 'send', room: ROOM, content: 'hello' });
    expect(written).toHaveLength(3);

    // Someone else typing shows under the conversation, and their message ends it.
    act(() => socket.receive({ type: 'typing', room: ROOM, user_id: ALICE, state: 'start' }));
    expect(await screen.findByText('Alice is typing…')).toBeTruthy();
    act(() => socket.receive({ type: 'typing', room: ROOM, user_id: ALICE, state: 'stop' }));
    await waitFor(() => expect(screen.queryByText('Alice is typing…')).toBeNull());
    expect(screen.getByRole('button', { name: 'Members (2)' })).toBeTruthy();
  });
});
