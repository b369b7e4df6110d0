// Where the user is, in the URL's hash (`#/rooms/<id>`), so the back button and links work
// without a router library and the server needs no rewrite rules.

import type { RoomId } from '@protocol';
import { useSyncExternalStore } from 'react';

export type Route =
  | { screen: 'home' }
  | { screen: 'room'; room: RoomId }
  /** A mailed link: choose a new password with its token. */
  | { screen: 'reset-password'; token: string }
  /** A mailed link: confirm the account's email with its token. */
  | { screen: 'verify-email'; token: string };

export function parseRoute(hash: string): Route {
  const room = /^#\/rooms\/([0-9a-fA-F-]{36})$/.exec(hash);
  if (room) return { screen: 'room', room: room[1]!.toLowerCase() };
  const link = /^#\/(reset-password|verify-email)\/([A-Za-z0-9_-]{1,128})$/.exec(hash);
  if (link) return { screen: link[1] as 'reset-password' | 'verify-email', token: link[2]! };
  return { screen: 'home' };
}

export function roomHref(room: RoomId): string {
  return `#/rooms/${room}`;
}

export function navigate(route: Route): void {
  switch (route.screen) {
    case 'room':
      window.location.hash = roomHref(route.room);
      break;
    case 'reset-password':
    case 'verify-email':
      window.location.hash = `#/${route.screen}/${route.token}`;
      break;
    default:
      window.location.hash = '#/';
  }
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

const currentHash = () => window.location.hash;

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, currentHash, () => '');
  return parseRoute(hash);
}
