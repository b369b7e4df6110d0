// The page's service worker (public/sw.js, scope /): it shows push notifications while
// no page of the chat is open, and when one is clicked asks an open page to show its room.

import type { RoomId } from '@protocol';
import { parseRoute, roomHref } from '../app/route';

const SCRIPT = '/sw.js';
/** How long a new worker may take to become active before subscribing gives up. */
const ACTIVATION_TIMEOUT_MS = 10_000;

let registration: Promise<ServiceWorkerRegistration | null> | null = null;

export function serviceWorkerSupported(): boolean {
  return typeof navigator !== 'undefined' && 'serviceWorker' in navigator;
}

/**
 * Registers the worker, once per page (the browser keeps it across visits and fetches
 * sw.js again to see whether it changed); null where there are no service workers (an
 * insecure origin, an old browser) or registering failed.
 */
export function registerServiceWorker(): Promise<ServiceWorkerRegistration | null> {
  if (!serviceWorkerSupported()) return Promise.resolve(null);
  registration ??= navigator.serviceWorker.register(SCRIPT, { scope: '/' }).catch((error: unknown) => {
    console.warn('the service worker could not be registered', error);
    registration = null;
    return null;
  });
  return registration;
}

/** The registration once its worker is active (subscribing to push needs one), or null. */
export async function activeRegistration(): Promise<ServiceWorkerRegistration | null> {
  const registered = await registerServiceWorker();
  if (!registered) return null;
  if (registered.active) return registered;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ACTIVATION_TIMEOUT_MS);
  });
  try {
    return await Promise.race([navigator.serviceWorker.ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The registration this page already has, without registering one. */
export async function existingRegistration(): Promise<ServiceWorkerRegistration | null> {
  if (!serviceWorkerSupported()) return null;
  return (await navigator.serviceWorker.getRegistration()) ?? null;
}

/** The room a worker's message asks the page to show (`{type: 'open-room', room_id}`), or null. */
export function openRoomRequest(data: unknown): RoomId | null {
  if (typeof data !== 'object' || data === null) return null;
  const { type, room_id: room } = data as { type?: unknown; room_id?: unknown };
  if (type !== 'open-room' || typeof room !== 'string') return null;
  const route = parseRoute(roomHref(room));
  return route.screen === 'room' ? route.room : null;
}

/** Calls `open` with each room the worker asks this page to show; returns the unsubscribe. */
export function onOpenRoomRequest(open: (room: RoomId) => void): () => void {
  if (!serviceWorkerSupported()) return () => {};
  const workers = navigator.serviceWorker;
  const listener = (event: MessageEvent) => {
    const room = openRoomRequest(event.data);
    if (room) open(room);
  };
  workers.addEventListener('message', listener);
  // Messages wait in a queue until the page says it listens.
  workers.startMessages();
  return () => workers.removeEventListener('message', listener);
}
