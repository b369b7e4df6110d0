// Where the user is, in the URL's hash (`#/rooms/<id>`), so the back button and links work
// without a router library and the server needs no rewrite rules.

import type { RoomId } from '@protocol';
import { useSyncExternalStore } from 'react';

export type Route = { screen: 'home' } | { screen: 'room'; room: RoomId };

export function parseRoute(hash: string): Route {
  const match = /^#\/rooms\/([0-9a-fA-F-]{36})$/.exec(hash);
  return match ? { screen: 'room', room: match[1]!.toLowerCase() } : { screen: 'home' };
}

export function roomHref(room: RoomId): string {
  return `#/rooms/${room}`;
}

export function navigate(route: Route): void {
  window.location.hash = route.screen === 'room' ? roomHref(route.room) : '#/';
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
