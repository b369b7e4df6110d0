// One room: its header (name, topic, notifications, members, leave), the timeline and the
// composer.

import type { FileView, MessageId, MessageView, RoomId } from '@protocol';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import type { VirtuosoHandle } from 'react-virtuoso';
import { useShallow } from 'zustand/react/shallow';
import { ApiError } from '../api/client';
import { keys, useRoom } from '../api/queries';
import { getRoomReads, joinRoom, leaveRoom } from '../api/rooms';
import { useSession } from '../api/session';
import { useConnection } from '../app/ConnectionContext';
import { canManageRoom } from '../app/permissions';
import { navigate } from '../app/route';
import { showNotice, toggleMembers, useUi } from '../app/ui-state';
import { loadLatest } from '../live/history';
import { onOpenRoom, onRoomReads } from '../live/state';
import { run, useLive } from '../live/store';
import { Composer } from './Composer';
import { Dialog } from './Dialog';
import { DialogActions, FormError, formProblem } from './forms';
import { MembersPanel } from './MembersPanel';
import { ThreadPanel } from './ThreadPanel';
import { RoomNotificationsButton } from './RoomNotifications';
import { RoomSettingsDialog } from './RoomSettingsDialog';
import { useRoomName } from './RoomList';
import { Timeline } from './Timeline';
import { TypingLine } from './TypingLine';

/** Whether the page is on screen (not a background tab or a minimised window). */
function usePageVisible(): boolean {
  const [visible, setVisible] = useState(() => document.visibilityState === 'visible');
  useEffect(() => {
    const update = () => setVisible(document.visibilityState === 'visible');
    document.addEventListener('visibilitychange', update);
    return () => document.removeEventListener('visibilitychange', update);
  }, []);
  return visible;
}

export function RoomView({ room }: { room: RoomId }) {
  const { data: details, error: detailsError } = useRoom(room);
  const name = useRoomName(details);
  const label = details?.kind === 'direct' ? name : `#${name}`;
  const membersOpen = useUi((s) => s.membersOpen);
  const me = useSession((s) => s.me?.id ?? null);
  const connection = useConnection();
  const timeline = useLive((s) => s.rooms[room]);
  const pending = useLive(useShallow((s) => s.pending.filter((p) => p.room === room)));
  const maxChars = useLive((s) => s.limits?.max_content_chars ?? 4000);
  const typingRenewMs = useLive((s) => s.typingRenewMs);
  const handle = useRef<VirtuosoHandle>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [leaving, setLeaving] = useState(false);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [replyTo, setReplyTo] = useState<MessageView | null>(null);
  const [threadRootId, setThreadRootId] = useState<MessageId | null>(null);
  useEffect(() => {
    setReplyTo(null);
    setThreadRootId(null);
  }, [room]);
  // The root as it now is (edits, its thread count), from the room's messages.
  const threadRoot = timeline?.messages.find((m) => m.id === threadRootId) ?? null;

  const isMember = details ? details.my_role !== null : true;
  const loaded = timeline?.loaded ?? false;
  const generation = timeline?.generation ?? 0;

  useEffect(() => {
    run((s) => onOpenRoom(s, room));
    return () => void run((s) => onOpenRoom(s, null));
  }, [room]);

  useEffect(() => {
    if (loaded || !isMember) return;
    setLoadError(null);
    loadLatest(room).catch(setLoadError);
  }, [room, loaded, generation, isMember]);

  // Where the other members stand (read receipts); `receipts` frames keep it current.
  useEffect(() => {
    if (!loaded || !isMember) return;
    let current = true;
    getRoomReads(room)
      .then((answer) => current && run((s) => onRoomReads(s, room, answer)))
      .catch((error: unknown) => console.warn('read receipts not loaded', error));
    return () => {
      current = false;
    };
  }, [room, loaded, generation, isMember]);

  // What is on screen is read: the room up to its latest entry, while the page is seen.
  const cursor = timeline?.cursor ?? null;
  const visible = usePageVisible();
  useEffect(() => {
    if (!loaded || !isMember || !visible || !cursor || cursor.epoch === 0) return;
    const timer = setTimeout(() => connection.markRead(room, cursor), 300);
    return () => clearTimeout(timer);
  }, [connection, room, loaded, isMember, visible, cursor]);

  const send = (content: string, attachments: FileView[]) => {
    connection.send(room, content, replyTo?.id ?? null, null, attachments);
    setReplyTo(null);
    requestAnimationFrame(() =>
      handle.current?.scrollToIndex({ index: 'LAST', align: 'end', behavior: 'smooth' }),
    );
  };

  const missing =
    detailsError instanceof ApiError && (detailsError.status === 404 || detailsError.status === 403);

  return (
    <div className="room-view" data-members={membersOpen || undefined}>
      <header className="room-header">
        <a href="#/" className="icon-button back-link" aria-label="Back to rooms">
          ‹
        </a>
        <div className="room-title">
          <h1>{details ? label : missing ? 'Room not found' : '…'}</h1>
          {details?.topic && <p className="room-topic">{details.topic}</p>}
        </div>
        {details && isMember && (
          <div className="room-actions">
            <RoomNotificationsButton room={details} label={label} />
            <button
              type="button"
              className="button subtle"
              aria-expanded={membersOpen}
              aria-controls="members-panel"
              onClick={() => toggleMembers()}
            >
              Members{details.kind !== 'direct' ? ` (${details.member_count})` : ''}
            </button>
            {canManageRoom(details) && (
              <button type="button" className="button subtle" onClick={() => setSettingsOpen(true)}>
                Settings
              </button>
            )}
            {details.kind !== 'direct' && (
              <button type="button" className="button subtle" onClick={() => setLeaving(true)}>
                Leave
              </button>
            )}
          </div>
        )}
      </header>

      <div className="room-body">
        <section className="room-messages" aria-label={`Conversation in ${label}`}>
          {missing ? (
            <div className="empty-state">
              <p>This room does not exist, or you are not in it.</p>
              <a href="#/">Back to your rooms</a>
            </div>
          ) : !isMember && details ? (
            <JoinPrompt room={room} label={label} />
          ) : loadError ? (
            <div className="empty-state" role="alert">
              <p>Could not load messages.</p>
              <button type="button" className="button" onClick={() => {
                setLoadError(null);
                loadLatest(room).catch(setLoadError);
              }}>
                Try again
              </button>
            </div>
          ) : loaded && timeline ? (
            <Timeline
              key={generation}
              room={room}
              label={label}
              messages={timeline.messages}
              pending={pending}
              hasOlder={timeline.hasOlder}
              me={me}
              myRole={details?.my_role ?? null}
              direct={details?.kind === 'direct'}
              onReply={setReplyTo}
              onOpenThread={(message) => setThreadRootId(message.id)}
              maxChars={maxChars}
              handle={handle}
            />
          ) : (
            <p className="timeline-loading" role="status">
              Loading messages…
            </p>
          )}
          {isMember && !missing && <TypingLine room={room} />}
          {isMember && !missing && (
            <Composer
              key={room}
              room={room}
              label={label}
              maxChars={maxChars}
              onSend={send}
              onTyping={(state) => connection.typing(room, state)}
              typingRenewMs={typingRenewMs}
              replyTo={replyTo}
              onCancelReply={() => setReplyTo(null)}
            />
          )}
        </section>
        {threadRoot && isMember ? (
          <ThreadPanel room={room} root={threadRoot} maxChars={maxChars} onClose={() => setThreadRootId(null)} />
        ) : (
          membersOpen && details && isMember && <MembersPanel room={details} />
        )}
      </div>

      <LeaveDialog room={room} label={label} open={leaving} onClose={() => setLeaving(false)} />
      {details && canManageRoom(details) && (
        <RoomSettingsDialog room={details} open={settingsOpen} onClose={() => setSettingsOpen(false)} />
      )}
    </div>
  );
}

function JoinPrompt({ room, label }: { room: RoomId; label: string }) {
  const queryClient = useQueryClient();
  const join = useMutation({
    mutationFn: () => joinRoom(room),
    onSuccess: (joined) => {
      queryClient.setQueryData(keys.room(room), joined);
      void queryClient.invalidateQueries({ queryKey: keys.myRooms });
    },
  });
  return (
    <div className="empty-state">
      <p>You are not a member of {label}.</p>
      <FormError message={formProblem(join.error).message} />
      <button type="button" className="button primary" disabled={join.isPending} onClick={() => join.mutate()}>
        {join.isPending ? 'Joining…' : 'Join room'}
      </button>
    </div>
  );
}

function LeaveDialog({
  room,
  label,
  open,
  onClose,
}: {
  room: RoomId;
  label: string;
  open: boolean;
  onClose: () => void;
}) {
  const queryClient = useQueryClient();
  const leave = useMutation({
    mutationFn: () => leaveRoom(room),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: keys.myRooms });
      onClose();
      navigate({ screen: 'home' });
      showNotice(`You left ${label}.`);
    },
  });
  const problem = formProblem(leave.error);
  const message =
    leave.error instanceof ApiError && leave.error.code === 'owner_must_transfer'
      ? 'You own this room: make another member its owner before leaving.'
      : problem.message;
  return (
    <Dialog open={open} title={`Leave ${label}?`} onClose={onClose}>
      <p>You will stop receiving its messages. You can join again if the room is public.</p>
      <FormError message={message} />
      <DialogActions
        onCancel={onClose}
        label="Leave room"
        busyLabel="Leaving…"
        busy={leave.isPending}
        tone="danger"
        onAction={() => leave.mutate()}
      />
    </Dialog>
  );
}
