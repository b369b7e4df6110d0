// What the signed-in user may do in a room, as the rooms service decides it: the client
// only offers what the server would allow (the server still checks every request).

import type { Member, MessageView, Role, Room, UserId } from '@protocol';

const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 };

/** Admins act on members, the owner on admins and members, nobody on the owner. */
export function outranks(actor: Role | null, target: Role): boolean {
  return actor !== null && RANK[actor] >= RANK.admin && RANK[actor] > RANK[target];
}

const moderated = (room: Room) => room.kind !== 'direct';

/** Rename, topic, description; invite people. */
export function canManageRoom(room: Room): boolean {
  return moderated(room) && room.my_role !== null && RANK[room.my_role] >= RANK.admin;
}

export function canDeleteRoom(room: Room): boolean {
  return moderated(room) && room.my_role === 'owner';
}

export interface MemberActions {
  kick: boolean;
  ban: boolean;
  /** The roles the member may be given (the owner's choice; `owner` hands the room over). */
  roles: Role[];
}

export const NO_ACTIONS: MemberActions = { kick: false, ban: false, roles: [] };

export function memberActions(room: Room, me: UserId | null, member: Member): MemberActions {
  if (!moderated(room) || member.user_id === me) return NO_ACTIONS;
  const mayRemove = outranks(room.my_role, member.role);
  const roles: Role[] =
    room.my_role === 'owner' ? (['member', 'admin', 'owner'] as const).filter((r) => r !== member.role) : [];
  return { kick: mayRemove, ban: mayRemove, roles };
}

export function hasActions(actions: MemberActions): boolean {
  return actions.kick || actions.ban || actions.roles.length > 0;
}

/** What the user may do to one message: edit their own, delete their own or, as a room
 * admin or owner, anyone's. Nothing once it is deleted. */
export interface MessageActions {
  edit: boolean;
  delete: boolean;
}

export function messageActions(
  myRole: Role | null,
  me: UserId | null,
  message: MessageView,
): MessageActions {
  if (message.deleted_at !== null || me === null) return { edit: false, delete: false };
  const mine = message.sender_id === me;
  const moderator = myRole !== null && RANK[myRole] >= RANK.admin;
  return { edit: mine, delete: mine || moderator };
}
