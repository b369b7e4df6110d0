// The chat's service worker, served at /sw.js for the whole site (scope /). It does two
// things: shows the push notifications the server sends while the chat is not in view
// (PushNotification in services/protocol), and on a click brings the chat to that room,
// in a window already open when there is one. It caches nothing: the page works as before.
//
// Plain JavaScript, outside the build: src/notifications/sw.test.ts runs it in a test.

'use strict';

/** For a push whose content cannot be read: still a notification, as browsers require. */
const GENERIC = { title: 'New message', body: 'Open the chat to read it.', tag: 'chat', url: '/', room_id: null };

/** What a push says, as a notification: the room's name over its newest message. */
function notificationOf(payload) {
  if (
    !payload ||
    payload.type !== 'message' ||
    typeof payload.room_id !== 'string' ||
    typeof payload.room_name !== 'string'
  ) {
    return GENERIC;
  }
  const excerpt = typeof payload.excerpt === 'string' ? payload.excerpt : '';
  const line = typeof payload.sender_name === 'string' && payload.sender_name ? `${payload.sender_name}: ${excerpt}` : excerpt;
  const count = Number.isInteger(payload.count) ? payload.count : 1;
  return {
    title: payload.room_name,
    // The newest message, and how many this notification stands for (it replaces the last).
    body: count > 1 ? `${line}\n${count} new messages` : line,
    tag: payload.room_id,
    url: sameOriginUrl(payload.url) || `/#/rooms/${payload.room_id}`,
    room_id: payload.room_id,
    timestamp: typeof payload.sent_at === 'string' ? Date.parse(payload.sent_at) || undefined : undefined,
  };
}

/** `url` when it leads into this site (never anywhere else), else null. */
function sameOriginUrl(url) {
  if (typeof url !== 'string') return null;
  try {
    const resolved = new URL(url, self.location.origin);
    return resolved.origin === self.location.origin ? resolved.href : null;
  } catch {
    return null;
  }
}

function readPush(event) {
  try {
    return event.data ? event.data.json() : null;
  } catch {
    return null;
  }
}

/** Keeps the worker alive until `work` is done (an event made by script cannot; it runs anyway). */
function keepAlive(event, work) {
  try {
    event.waitUntil(work);
  } catch {
    // Not a browser's own event.
  }
}

self.addEventListener('install', () => {
  // A new version takes over at once: it holds no state an old page depends on.
  void self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  keepAlive(event, self.clients.claim());
});

self.addEventListener('push', (event) => {
  const shown = notificationOf(readPush(event));
  keepAlive(
    event,
    self.registration.showNotification(shown.title, {
      body: shown.body,
      // One notification per room: a newer one replaces it, and says so again.
      tag: shown.tag,
      renotify: true,
      icon: '/favicon.svg',
      timestamp: shown.timestamp,
      data: { url: shown.url, room_id: shown.room_id },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  keepAlive(event, openChat(sameOriginUrl(data.url) || '/', typeof data.room_id === 'string' ? data.room_id : null));
});

/** Shows `room` in an open window of the chat (the page navigates), else opens one at `url`. */
async function openChat(url, room) {
  const windows = (await self.clients.matchAll({ type: 'window', includeUncontrolled: true })).filter(
    (client) => new URL(client.url).origin === self.location.origin,
  );
  const target =
    windows.find((client) => client.focused) ||
    windows.find((client) => client.visibilityState === 'visible') ||
    windows[0];
  if (!target) {
    await self.clients.openWindow(url);
    return;
  }
  if (room) target.postMessage({ type: 'open-room', room_id: room });
  try {
    await target.focus();
  } catch {
    // Browsers let a worker focus a window only right after a click; the room is open anyway.
  }
}
