import type { ClientFrame, ServerFrame } from '@protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EPOCH, ME, OTHER_ROOM, ROOM, created, message, ready } from '../test/frames';
import { LiveConnection, type ConnectionOptions } from './connection';
import { resetLive, useLive } from './store';

/** A WebSocket as the connection uses it, driven by the test. */
class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: ClientFrame[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  send(data: string) {
    this.sent.push(JSON.parse(data) as ClientFrame);
  }

  close(code = 1000) {
    this.serverCloses(code);
  }

  open() {
    this.readyState = 1;
    this.onopen?.();
  }

  receive(frame: ServerFrame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  serverCloses(code: number) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

const latest = () => FakeSocket.all[FakeSocket.all.length - 1]!;

function connection(overrides: Partial<ConnectionOptions> = {}) {
  const options: ConnectionOptions = {
    accessToken: vi.fn(async () => 'token-1'),
    refresh: vi.fn(async () => true),
    signIn: vi.fn(),
    onEffects: vi.fn(),
    url: 'ws://chat.test/ws',
    createSocket: (url) => new FakeSocket(url) as unknown as WebSocket,
    random: () => 0,
    ...overrides,
  };
  return { live: new LiveConnection(options), options };
}

/** Lets the connection's awaits (the access token) finish. */
const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.all = [];
  resetLive();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('the live connection', () => {
  it('speaks first with auth, then sends what was queued once ready', async () => {
    const { live } = connection();
    live.start();
    const id = live.send(ROOM, 'hello');
    await settle();
    latest().open();
    expect(latest().sent).toEqual([{ type: 'auth', token: 'token-1' }]);

    latest().receive({ type: 'ready', ...ready([{ id: ROOM, epoch: EPOCH, position: 10 }]) });
    expect(useLive.getState().connection.status).toBe('online');
    expect(latest().sent[1]).toEqual({ type: 'send', room: ROOM, client_msg_id: id, content: 'hello' });
    expect(useLive.getState().pending).toMatchObject([{ clientMsgId: id, state: 'sending' }]);
    live.stop();
  });

  it('reconnects after a drop, resumes from its cursors and sends unacknowledged messages again', async () => {
    const { live } = connection();
    live.start();
    await settle();
    latest().open();
    latest().receive({ type: 'ready', ...ready([{ id: ROOM, epoch: EPOCH, position: 10 }]) });
    latest().receive(created(11));
    const id = live.send(ROOM, 'hello');

    latest().serverCloses(1006);
    expect(useLive.getState().connection.status).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(250); // the first backoff, with random() = 0
    expect(FakeSocket.all).toHaveLength(2);
    latest().open();
    expect(latest().sent[0]).toEqual({
      type: 'auth',
      token: 'token-1',
      resume: { [ROOM]: { epoch: EPOCH, position: 11 } },
    });
    latest().receive({ type: 'ready', ...ready([{ id: ROOM, epoch: EPOCH, position: 12 }]) });
    expect(latest().sent[1]).toMatchObject({ type: 'send', client_msg_id: id });

    // The first attempt had gone through: the catch-up brings it, the retry is a duplicate.
    latest().receive(created(12, { sender_id: ME, client_msg_id: id, content: 'hello' }));
    latest().receive({
      type: 'ack',
      client_msg_id: id,
      id: `m-${EPOCH}-12`,
      room: ROOM,
      sent_at: '2026-11-21T06:00:01.000Z',
      duplicate: true,
      epoch: EPOCH,
      position: 12,
    });
    const state = useLive.getState();
    expect(state.pending).toEqual([]);
    expect(state.rooms[ROOM]!.messages.map((m) => m.position)).toEqual([11, 12]);
    live.stop();
  });

  it('drops the socket when the device goes offline and comes back with the network', async () => {
    let online = true;
    let changed: ((online: boolean) => void) | null = null;
    const network = {
      online: () => online,
      watch: (onChange: (online: boolean) => void) => {
        changed = onChange;
        return () => (changed = null);
      },
    };
    const { live } = connection({ network });
    live.start();
    await settle();
    latest().open();
    latest().receive({ type: 'ready', ...ready([{ id: ROOM, epoch: EPOCH, position: 10 }]) });

    online = false;
    changed!(false);
    expect(latest().readyState).toBe(3);
    expect(useLive.getState().connection).toMatchObject({ status: 'reconnecting', offline: true });
    const id = live.send(ROOM, 'written offline');
    await vi.advanceTimersByTimeAsync(10_000); // no attempt without a network
    expect(FakeSocket.all).toHaveLength(1);
    expect(useLive.getState().pending).toMatchObject([{ clientMsgId: id, state: 'queued' }]);

    online = true;
    changed!(true);
    await settle();
    expect(FakeSocket.all).toHaveLength(2);
    expect(useLive.getState().connection).toMatchObject({ status: 'reconnecting', offline: false });
    latest().open();
    expect(latest().sent[0]).toMatchObject({ resume: { [ROOM]: { epoch: EPOCH, position: 10 } } });
    latest().receive({ type: 'ready', ...ready([{ id: ROOM, epoch: EPOCH, position: 10 }]) });
    expect(latest().sent[1]).toMatchObject({ type: 'send', client_msg_id: id });
    live.stop();
    expect(changed).toBeNull();
  });

  it('asks history after the cursor when it sees a gap', async () => {
    const { live } = connection();
    live.start();
    await settle();
    latest().open();
    latest().receive({ type: 'ready', ...ready([{ id: ROOM, epoch: EPOCH, position: 10 }]) });
    latest().receive(created(13));
    const request = latest().sent[1];
    expect(request).toMatchObject({ type: 'history', room: ROOM, after: `${EPOCH}:10`, limit: 100 });

    const ref = (request as { id: string }).id;
    latest().receive({
      type: 'history',
      ref,
      room: ROOM,
      messages: [message(11), message(12)],
      has_older: true,
      has_newer: true,
    });
    expect(useLive.getState().rooms[ROOM]!.cursor).toEqual({ epoch: EPOCH, position: 13 });
    live.stop();
  });

  it('refreshes the token and reconnects at once when the server says it expired (4002)', async () => {
    const { live, options } = connection();
    live.start();
    await settle();
    latest().open();
    latest().serverCloses(4002);
    await settle();
    expect(options.refresh).toHaveBeenCalledOnce();
    expect(FakeSocket.all).toHaveLength(2);
    live.stop();
  });

  it('asks the user to sign in again on 4001', async () => {
    const { live, options } = connection();
    live.start();
    await settle();
    latest().open();
    latest().serverCloses(4001);
    expect(options.signIn).toHaveBeenCalledOnce();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    live.stop();
  });

  it('stops on too many connections (4004) until the user retries', async () => {
    const { live } = connection();
    live.start();
    await settle();
    latest().open();
    latest().serverCloses(4004);
    expect(useLive.getState().connection).toMatchObject({
      status: 'stopped',
      stopReason: 'too_many_connections',
    });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    live.reconnectNow();
    await settle();
    expect(FakeSocket.all).toHaveLength(2);
    live.stop();
  });

  it('leaves and comes back after the wait of a reconnect frame', async () => {
    const { live } = connection();
    live.start();
    await settle();
    latest().open();
    latest().receive({ type: 'ready', ...ready([]) });
    latest().receive({ type: 'reconnect', reason: 'shutdown', retry_after_ms: 1000 });
    expect(latest().readyState).toBe(3);
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeSocket.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.all).toHaveLength(2);
    live.stop();
  });

  it('renews the token on the open socket', async () => {
    const { live } = connection();
    live.start();
    await settle();
    latest().open();
    latest().receive({ type: 'ready', ...ready([]) });
    live.renew('token-2');
    expect(latest().sent[1]).toEqual({ type: 'auth', token: 'token-2' });
    live.stop();
  });

  it('says which room is in view once ready, on each change, and again on a new socket', async () => {
    const { live } = connection();
    live.focus(ROOM); // before the socket: remembered, not written
    live.start();
    await settle();
    latest().open();
    expect(latest().sent).toEqual([{ type: 'auth', token: 'token-1' }]);
    latest().receive({ type: 'ready', ...ready([]) });
    expect(latest().sent[1]).toEqual({ type: 'focus', room: ROOM });

    live.focus(ROOM); // no change: nothing
    live.focus(null); // the page went out of sight
    live.focus(OTHER_ROOM);
    expect(latest().sent.slice(2)).toEqual([{ type: 'focus' }, { type: 'focus', room: OTHER_ROOM }]);

    latest().serverCloses(1006);
    live.focus(null); // while offline: only remembered
    await vi.advanceTimersByTimeAsync(250);
    latest().open();
    latest().receive({ type: 'ready', ...ready([]) });
    // A new socket has no room in view until told: nothing to say.
    expect(latest().sent.filter((frame) => frame.type === 'focus')).toEqual([]);
    live.focus(ROOM);
    expect(latest().sent.at(-1)).toEqual({ type: 'focus', room: ROOM });
    live.stop();
  });

  it('asks a silent server, and moves to another socket when it stays silent', async () => {
    const { live } = connection();
    live.start();
    await settle();
    latest().open();
    latest().receive({ type: 'ready', ...ready([{ id: ROOM, epoch: EPOCH, position: 10 }]) });
    const pings = () => latest().sent.filter((frame) => frame.type === 'ping').length;

    // Frames keep coming: nothing to ask.
    await vi.advanceTimersByTimeAsync(15_000);
    latest().receive(created(11));
    await vi.advanceTimersByTimeAsync(15_000);
    expect(pings()).toBe(0);

    // A heartbeat interval (20 s) of silence: a ping; its pong keeps the socket.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(pings()).toBe(1);
    latest().receive({ type: 'pong' });
    await vi.advanceTimersByTimeAsync(15_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(useLive.getState().connection.status).toBe('online');

    // Silent again, and the ping unanswered for 10 s: the server is taken for gone.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(pings()).toBe(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(useLive.getState().connection.status).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(250);
    expect(FakeSocket.all).toHaveLength(2);
    latest().open();
    expect(latest().sent[0]).toEqual({
      type: 'auth',
      token: 'token-1',
      resume: { [ROOM]: { epoch: EPOCH, position: 11 } },
    });
    live.stop();
  });
});
