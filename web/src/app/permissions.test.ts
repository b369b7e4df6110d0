import type { Member, Role, Room } from '@protocol';
import { message } from '../test/frames';
import { describe, expect, it } from 'vitest';
import { canDeleteRoom, canManageRoom, memberActions, messageActions, outranks } from './permissions';

const room = (myRole: Role | null, kind: Room['kind'] = 'public'): Room => ({
  id: 'r',
  kind,
  name: 'r',
  description: null,
  topic: null,
  owner_id: null,
  member_count: 3,
  created_at: '2026-12-01T08:00:00.000Z',
  my_role: myRole,
});
const member = (role: Role, id = 'them'): Member => ({ user_id: id, role, joined_at: '2026-12-01T08:00:00.000Z' });

describe('what a role may do', () => {
  it('ranks like the rooms service: admins over members, the owner over both, nobody over the owner', () => {
    expect(outranks('owner', 'admin')).toBe(true);
    expect(outranks('admin', 'member')).toBe(true);
    expect(outranks('admin', 'admin')).toBe(false);
    expect(outranks('admin', 'owner')).toBe(false);
    expect(outranks('member', 'member')).toBe(false);
    expect(outranks(null, 'member')).toBe(false);
  });

  it('lets admins and the owner manage a room, only the owner delete it, nobody a direct room', () => {
    expect([canManageRoom(room('member')), canManageRoom(room('admin')), canManageRoom(room('owner'))]).toEqual([
      false,
      true,
      true,
    ]);
    expect([canDeleteRoom(room('admin')), canDeleteRoom(room('owner'))]).toEqual([false, true]);
    expect(canManageRoom(room('owner', 'direct'))).toBe(false);
  });

  it('offers moderation of those one outranks, roles only to the owner, nothing on oneself', () => {
    expect(memberActions(room('admin'), 'me', member('member'))).toEqual({ kick: true, ban: true, roles: [] });
    expect(memberActions(room('admin'), 'me', member('admin'))).toEqual({ kick: false, ban: false, roles: [] });
    expect(memberActions(room('owner'), 'me', member('admin'))).toEqual({
      kick: true,
      ban: true,
      roles: ['member', 'owner'],
    });
    expect(memberActions(room('owner'), 'me', member('owner', 'me')).roles).toEqual([]);
    expect(memberActions(room('owner', 'direct'), 'me', member('member')).kick).toBe(false);
  });
});

describe('what one may do to a message', () => {
  const mine = message(1, { sender_id: 'me' });
  const theirs = message(2, { sender_id: 'them' });
  it('lets the author edit and delete, and admins and the owner delete anyone\'s', () => {
    expect(messageActions('member', 'me', mine)).toEqual({ edit: true, delete: true });
    expect(messageActions('member', 'me', theirs)).toEqual({ edit: false, delete: false });
    expect(messageActions('admin', 'me', theirs)).toEqual({ edit: false, delete: true });
    expect(messageActions('owner', 'me', theirs)).toEqual({ edit: false, delete: true });
  });

  it('offers nothing on a deleted message or without a user', () => {
    const gone = message(3, { sender_id: 'me', deleted_at: '2026-12-01T08:00:00.000Z', content: '' });
    expect(messageActions('owner', 'me', gone)).toEqual({ edit: false, delete: false });
    expect(messageActions('owner', null, theirs)).toEqual({ edit: false, delete: false });
  });
});
