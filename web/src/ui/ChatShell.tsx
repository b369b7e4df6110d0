// The signed-in app: the live connection for as long as it is mounted, the room list and
// the open room side by side (one at a time on a phone), and the dialogs.

import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { applyLiveEffects } from '../api/queries';
import { endSession, freshAccessToken, onAccessToken, refreshSession } from '../api/session';
import { ConnectionContext } from '../app/ConnectionContext';
import { navigate, useRoute } from '../app/route';
import { openDialog, showNotice, useUi } from '../app/ui-state';
import { LiveConnection } from '../live/connection';
import type { LiveEffect } from '../live/state';
import { activityOf, followedUsers, usePresenceInterest } from '../live/presence';
import { resetLive } from '../live/store';
import { roomInView } from '../notifications/focus';
import { onOpenRoomRequest, registerServiceWorker } from '../notifications/service-worker';
import { AccountBar } from './AccountBar';
import { BrowseRoomsDialog } from './BrowseRoomsDialog';
import { CreateRoomDialog } from './CreateRoomDialog';
import { DirectMessageDialog } from './DirectMessageDialog';
import { OfflineBanner } from './OfflineBanner';
import { ProfileDialog } from './ProfileDialog';
import { RoomList } from './RoomList';
import { RoomView } from './RoomView';
import { SearchDialog } from './SearchDialog';

const REMOVAL_NOTICES = {
  left: 'You left the room.',
  kicked: 'You were removed from the room.',
  banned: 'You were banned from the room.',
  deleted: 'The room was deleted.',
  not_a_member: 'You are no longer a member of the room.',
} as const;

export default function ChatShell() {
  const queryClient = useQueryClient();
  const route = useRoute();
  const [connection] = useState(
    () =>
      new LiveConnection({
        accessToken: freshAccessToken,
        refresh: refreshSession,
        signIn: (notice) => endSession(notice),
        onEffects: (effects: LiveEffect[]) => {
          applyLiveEffects(queryClient, effects);
          for (const effect of effects) {
            if (effect.type !== 'room_removed') continue;
            if (window.location.hash.endsWith(effect.room)) {
              navigate({ screen: 'home' });
              showNotice(REMOVAL_NOTICES[effect.reason]);
            }
          }
        },
      }),
  );

  // Follow the presence of exactly the users on screen (a moment after it settles).
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const follow = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => connection.follow(followedUsers(usePresenceInterest.getState())), 200);
    };
    follow();
    const unsubscribe = usePresenceInterest.subscribe(follow);
    return () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
    };
  }, [connection]);

  // Say whether the person is using this client: idle when hidden or without input.
  useEffect(() => {
    let lastInput = Date.now();
    const report = () =>
      connection.setActivity(activityOf(document.visibilityState === 'visible', lastInput, Date.now()));
    const onInput = () => {
      lastInput = Date.now();
      report();
    };
    const events = ['pointerdown', 'keydown', 'wheel', 'touchstart'] as const;
    for (const event of events) window.addEventListener(event, onInput, { passive: true });
    document.addEventListener('visibilitychange', report);
    const timer = setInterval(report, 30_000);
    return () => {
      for (const event of events) window.removeEventListener(event, onInput);
      document.removeEventListener('visibilitychange', report);
      clearInterval(timer);
    };
  }, [connection]);

  // Which room the person sees, for the server to push notifications of every other one.
  const current = route.screen === 'room' ? route.room : null;
  useEffect(() => {
    const report = () => connection.focus(roomInView(current, document.visibilityState));
    report();
    document.addEventListener('visibilitychange', report);
    return () => document.removeEventListener('visibilitychange', report);
  }, [connection, current]);

  // The service worker shows push notifications; a click on one opens its room here.
  useEffect(() => {
    void registerServiceWorker();
    return onOpenRoomRequest((room) => navigate({ screen: 'room', room }));
  }, []);

  useEffect(() => {
    connection.start();
    const stopRenewing = onAccessToken((token) => connection.renew(token));
    return () => {
      stopRenewing();
      connection.stop();
      resetLive();
    };
  }, [connection]);

  return (
    <ConnectionContext.Provider value={connection}>
      <div className="shell" data-view={route.screen}>
        <OfflineBanner />
        <aside className="sidebar" aria-label="Rooms and people">
          <AccountBar />
          <button type="button" className="search-button" onClick={() => openDialog('search')}>
            <span aria-hidden="true">⌕</span> Search messages
          </button>
          <RoomList current={current} />
        </aside>
        <main className="main">
          {route.screen === 'room' ? (
            <RoomView key={route.room} room={route.room} />
          ) : (
            <div className="empty-state">
              <h1>Welcome</h1>
              <p>Pick a room on the left, or start a conversation.</p>
            </div>
          )}
        </main>
        <Notice />
        <CreateRoomDialog />
        <BrowseRoomsDialog />
        <SearchDialog current={current} />
        <DirectMessageDialog />
        <ProfileDialog />
      </div>
    </ConnectionContext.Provider>
  );
}

function Notice() {
  const notice = useUi((s) => s.notice);
  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => showNotice(null), 6000);
    return () => clearTimeout(timer);
  }, [notice]);
  return (
    <div className="toast-region" role="status" aria-live="polite">
      {notice && (
        <div className="toast">
          <span>{notice}</span>
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => showNotice(null)}>
            ×
          </button>
        </div>
      )}
    </div>
  );
}
