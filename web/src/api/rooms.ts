// /api/rooms and /api/dms: rooms, membership, members.

import type {
  DirectRoomRequest,
  Member,
  MemberList,
  NewBan,
  NewRoom,
  Role,
  Room,
  RoomChanges,
  RoomId,
  RoomList,
  RoomReads,
  UserId,
} from '@protocol';
import { request } from './client';

/** The caller's rooms, direct rooms included, latest joined first. */
export const listMyRooms = (cursor?: string | null) =>
  request<RoomList>('GET', '/rooms/mine', { query: { cursor, limit: 100 } });

/** Public rooms, newest first, those whose name contains `search` when given. */
export const listPublicRooms = (search: string, cursor?: string | null) =>
  request<RoomList>('GET', '/rooms', { query: { search, cursor, limit: 50 } });

export const createRoom = (body: NewRoom) => request<Room>('POST', '/rooms', { body });

export const getRoom = (room: RoomId) => request<Room>('GET', `/rooms/${room}`);

export const joinRoom = (room: RoomId) => request<Room>('POST', `/rooms/${room}/join`);

export const leaveRoom = (room: RoomId) => request<void>('DELETE', `/rooms/${room}/leave`);

/** The direct room of the caller and another user, opened if it did not exist. */
export const openDirectRoom = (body: DirectRoomRequest) =>
  request<Room>('POST', '/dms', { body });

/** How far the members of a direct or small room have read (read receipts). */
export const getRoomReads = (room: RoomId) => request<RoomReads>('GET', `/rooms/${room}/reads`);

export const listMembers = (room: RoomId, cursor?: string | null) =>
  request<MemberList>('GET', `/rooms/${room}/members`, { query: { cursor, limit: 100 } });

/** Renames the room or changes its topic or description (admins and the owner). */
export const updateRoom = (room: RoomId, body: RoomChanges) =>
  request<Room>('PATCH', `/rooms/${room}`, { body });

/** Deletes the room for everyone (the owner). */
export const deleteRoom = (room: RoomId) => request<void>('DELETE', `/rooms/${room}`);

/** Adds a user to the room (admins and the owner). */
export const inviteMember = (room: RoomId, user: UserId) =>
  request<Member>('POST', `/rooms/${room}/invites`, { body: { user_id: user } });

/** Removes a member; they may come back (public) or be invited again. */
export const kickMember = (room: RoomId, user: UserId) =>
  request<void>('POST', `/rooms/${room}/kick`, { body: { user_id: user } });

/** Removes a member and keeps them out, until `until` when given. */
export const banMember = (room: RoomId, body: NewBan) =>
  request<void>('POST', `/rooms/${room}/bans`, { body });

/** Gives a member another role (the owner); `owner` hands the room over. */
export const setMemberRole = (room: RoomId, user: UserId, role: Role) =>
  request<Member>('PUT', `/rooms/${room}/members/${user}/role`, { body: { role } });
