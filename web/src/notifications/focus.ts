// Which room this client has in view, for the server's `focus` frame: no push notification
// comes for the room the person is looking at; every other room notifies as set.

import type { RoomId } from '@protocol';

/**
 * The room on screen: the one shown, while the page is visible; none while the page is
 * hidden (a background tab, a minimised window, a locked phone), since then the person
 * sees nothing of it.
 */
export function roomInView(shown: RoomId | null, visibility: DocumentVisibilityState): RoomId | null {
  return visibility === 'visible' ? shown : null;
}
