// public/sw.js run as a browser runs it, against a stand-in for its global scope: what a
// push shows, and where a click leads.

import source from '../../public/sw.js?raw';
import type { PushNotification } from '@protocol';
import { describe, expect, it, vi } from 'vitest';
import { ROOM } from '../test/frames';

const ORIGIN = 'https://chat.example';

interface Shown {
  title: string;
  options: { body: string; tag: string; renotify: boolean; data: { url: string; room_id: string | null } };
}

interface FakeWindow {
  url: string;
  focused: boolean;
  visibilityState: string;
  postMessage: ReturnType<typeof vi.fn>;
  focus: ReturnType<typeof vi.fn>;
}

/** Loads the worker into a fake `self`; returns a way to fire its events and what it did. */
function worker(windows: FakeWindow[] = []) {
  const listeners = new Map<string, (event: unknown) => void>();
  const shown: Shown[] = [];
  const opened: string[] = [];
  const self = {
    location: { origin: ORIGIN },
    addEventListener: (type: string, listener: (event: unknown) => void) => listeners.set(type, listener),
    skipWaiting: vi.fn(async () => {}),
    registration: {
      showNotification: vi.fn(async (title: string, options: Shown['options']) => void shown.push({ title, options })),
    },
    clients: {
      claim: vi.fn(async () => {}),
      matchAll: vi.fn(async () => windows),
      openWindow: vi.fn(async (url: string) => void opened.push(url)),
    },
  };
  new Function('self', source)(self);
  const fire = async (type: string, event: object) => {
    let work: Promise<unknown> = Promise.resolve();
    listeners.get(type)!({ ...event, waitUntil: (promise: Promise<unknown>) => (work = promise) });
    await work;
  };
  return { self, fire, shown, opened };
}

const push = (payload: unknown) => ({
  data: {
    json: () => (typeof payload === 'string' ? JSON.parse(payload) : payload),
  },
});

const payload = (overrides: Partial<PushNotification> = {}): PushNotification => ({
  type: 'message',
  room_id: ROOM,
  room_name: 'hiking',
  message_id: 'm1',
  sender_name: 'Ada Lovelace',
  excerpt: 'Nine at the lighthouse?',
  count: 1,
  mention: false,
  sent_at: '2026-12-03T09:00:00.000Z',
  url: `/#/rooms/${ROOM}`,
  ...overrides,
});

const window = (overrides: Partial<FakeWindow> = {}): FakeWindow => ({
  url: `${ORIGIN}/#/`,
  focused: false,
  visibilityState: 'hidden',
  postMessage: vi.fn(),
  focus: vi.fn(async () => {}),
  ...overrides,
});

describe('the service worker', () => {
  it('shows a message as its room over who wrote what, one notification per room', async () => {
    const { fire, shown } = worker();
    await fire('push', push(payload()));
    expect(shown).toEqual([
      {
        title: 'hiking',
        options: expect.objectContaining({
          body: 'Ada Lovelace: Nine at the lighthouse?',
          tag: ROOM,
          renotify: true,
          icon: '/favicon.svg',
          data: { url: `${ORIGIN}/#/rooms/${ROOM}`, room_id: ROOM },
        }),
      },
    ]);
  });

  it('says how many messages a notification stands for', async () => {
    const { fire, shown } = worker();
    await fire('push', push(payload({ count: 3 })));
    expect(shown[0]!.options.body).toBe('Ada Lovelace: Nine at the lighthouse?\n3 new messages');
  });

  it('still shows something for a push it cannot read', async () => {
    const { fire, shown } = worker();
    await fire('push', push('{not json'));
    await fire('push', { data: null });
    await fire('push', push({ type: 'other' }));
    expect(shown.map((s) => [s.title, s.options.body])).toEqual(
      Array(3).fill(['New message', 'Open the chat to read it.']),
    );
  });

  it('never leads a click off the site', async () => {
    const { fire, shown } = worker();
    await fire('push', push(payload({ url: 'https://evil.example/' })));
    expect(shown[0]!.options.data.url).toBe(`/#/rooms/${ROOM}`);
  });

  it('on a click, asks an open window to show the room and focuses it', async () => {
    const open = [window(), window({ visibilityState: 'visible' }), window({ url: 'https://other.example/' })];
    const { fire, opened } = worker(open);
    const close = vi.fn();
    await fire('notificationclick', { notification: { close, data: { url: `/#/rooms/${ROOM}`, room_id: ROOM } } });
    expect(close).toHaveBeenCalled();
    expect(open[1]!.postMessage).toHaveBeenCalledWith({ type: 'open-room', room_id: ROOM });
    expect(open[1]!.focus).toHaveBeenCalled();
    expect(open[0]!.postMessage).not.toHaveBeenCalled();
    expect(opened).toEqual([]);
  });

  it('on a click, opens the room in a new window when none is open, even if focusing fails', async () => {
    const { fire, opened } = worker();
    await fire('notificationclick', { notification: { close: vi.fn(), data: { url: `/#/rooms/${ROOM}`, room_id: ROOM } } });
    expect(opened).toEqual([`${ORIGIN}/#/rooms/${ROOM}`]);

    const refusing = window({ focus: vi.fn(() => Promise.reject(new Error('InvalidAccessError'))) });
    const second = worker([refusing]);
    await second.fire('notificationclick', { notification: { close: vi.fn(), data: { url: '/', room_id: ROOM } } });
    expect(refusing.postMessage).toHaveBeenCalledWith({ type: 'open-room', room_id: ROOM });
  });

  it('takes over at once when installed', async () => {
    const { self, fire } = worker();
    await fire('install', {});
    await fire('activate', {});
    expect(self.skipWaiting).toHaveBeenCalled();
    expect(self.clients.claim).toHaveBeenCalled();
  });
});
