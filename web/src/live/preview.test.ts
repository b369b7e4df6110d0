import type { MessageView, Room } from '@protocol';
import { describe, expect, it } from 'vitest';
import { activityLabel } from '../time';
import { byActivity, newerMessage, previewText, roomPreview } from './preview';

const message = (epoch: number, position: number, sentAt: string): MessageView => ({
  id: `m${epoch}-${position}`,
  room_id: 'r',
  sender_id: 'u',
  client_msg_id: 'c',
  content: 'x',
  reply_to: null,
  reply_preview: null,
  kind: 'text',
  sent_at: sentAt,
  edited_at: null,
  deleted_at: null,
  reactions: [],
  mentions: [],
  mentions_room: false,
  thread_root: null,
  thread: null,
  epoch,
  position,
});

const room = (createdAt: string, extra: Partial<Room> = {}): Room => ({
  id: 'r',
  kind: 'public',
  name: 'r',
  description: null,
  topic: null,
  owner_id: null,
  member_count: 1,
  created_at: createdAt,
  my_role: 'member',
  ...extra,
});

describe('a room preview', () => {
  it('takes the later position of one epoch, and the later send across epochs', () => {
    const early = message(1, 4, '2026-12-01T10:00:00.000Z');
    const late = message(1, 5, '2026-12-01T09:00:00.000Z');
    expect(newerMessage(early, late)).toBe(late);
    expect(newerMessage(late, early)).toBe(late);
    const nextEpoch = message(2, 1, '2026-12-01T11:00:00.000Z');
    expect(newerMessage(late, nextEpoch)).toBe(nextEpoch);
    expect(newerMessage(undefined, early)).toBe(early);
  });

  it('is active when its newest message was sent, else when the server says, else at creation', () => {
    const listed = room('2026-12-01T08:00:00.000Z', {
      last_activity_at: '2026-12-01T09:00:00.000Z',
      last_message: message(1, 1, '2026-12-01T09:00:00.000Z'),
    });
    const live = message(1, 2, '2026-12-01T12:00:00.000Z');
    expect(roomPreview(listed, live)).toEqual({ message: live, activeAt: '2026-12-01T12:00:00.000Z' });
    expect(roomPreview(listed, undefined).activeAt).toBe('2026-12-01T09:00:00.000Z');
    expect(roomPreview(room('2026-12-01T08:00:00.000Z'), undefined)).toEqual({
      message: undefined,
      activeAt: '2026-12-01T08:00:00.000Z',
    });
  });

  it('orders the most recently active first', () => {
    const previews = [
      { message: undefined, activeAt: '2026-12-01T08:00:00.000Z' },
      { message: undefined, activeAt: '2026-12-02T08:00:00.000Z' },
    ];
    expect(previews.sort(byActivity)[0]!.activeAt).toBe('2026-12-02T08:00:00.000Z');
  });

  it('says when in words that fit a list: the time today, the day this week, else the date', () => {
    const now = new Date(2026, 11, 3, 15, 0);
    expect(activityLabel(new Date(2026, 11, 3, 9, 5), now)).toMatch(/9.05/);
    expect(activityLabel(new Date(2026, 11, 2, 9, 5), now)).toBe('Yesterday');
    expect(activityLabel(new Date(2026, 10, 29, 9, 5), now)).toBe(
      new Date(2026, 10, 29).toLocaleDateString(undefined, { weekday: 'short' }),
    );
    expect(activityLabel(new Date(2026, 10, 2, 9, 5), now)).toBe(
      new Date(2026, 10, 2).toLocaleDateString(undefined, { month: 'short', day: 'numeric' }),
    );
  });
});

describe('a preview of a message changed since', () => {
  it('shows the edit, and no content once deleted', () => {
    const last = { ...message(1, 5, '2026-11-21T06:00:00.000Z'), content: 'typo' };
    const listed = room('2026-11-21T05:00:00.000Z', { last_message: last });
    const id = last.id;
    expect(roomPreview(listed, undefined, { [id]: { content: 'fixed', edited_at: '2026-11-21T06:01:00.000Z' } }).message?.content).toBe('fixed');
    const gone = roomPreview(listed, undefined, { [id]: { content: '', deleted_at: '2026-11-21T06:02:00.000Z' } }).message;
    expect(gone?.content).toBe('');
    expect(gone?.deleted_at).not.toBeNull();
  });
});

describe('a message in one line', () => {
  const file = (name: string) => ({
    id: name,
    name,
    size: 1,
    content_type: 'image/png',
    kind: 'image' as const,
    url: `/api/files/${name}`,
  });

  it('is its text, spaces folded, or the files it carries when it has none', () => {
    const base = message(1, 1, '2026-11-21T06:00:00.000Z');
    expect(previewText({ ...base, content: 'two\n\nlines' })).toBe('two lines');
    expect(previewText({ ...base, content: 'look', attachments: [file('a.png')] })).toBe('look');
    expect(previewText({ ...base, content: '', attachments: [file('a.png'), file('b.png')] })).toBe('📎 a.png, b.png');
  });
});
