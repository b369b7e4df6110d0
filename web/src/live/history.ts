// Loading a room's messages over REST for the room view: the newest page when the room
// opens (or after a reset), older pages when the user scrolls up. Pages are merged into
// the live state, so live entries and pages never show a message twice.

import type { RoomId } from '@protocol';
import { listMessages } from '../api/messages';
import { historyCursor } from './position';
import { onLatestPage, onOlderPage } from './state';
import { run, useLive } from './store';

const PAGE = 50;

export async function loadLatest(room: RoomId): Promise<void> {
  const generation = useLive.getState().rooms[room]?.generation ?? 0;
  const page = await listMessages(room, { limit: PAGE });
  run((s) => onLatestPage(s, room, page, generation));
}

export async function loadOlder(room: RoomId): Promise<void> {
  const timeline = useLive.getState().rooms[room];
  const oldest = timeline?.messages[0];
  if (!timeline || !oldest || !timeline.hasOlder) return;
  const page = await listMessages(room, {
    before: String(historyCursor(oldest)),
    limit: PAGE,
  });
  run((s) => onOlderPage(s, room, page, timeline.generation));
}
