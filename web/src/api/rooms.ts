// /api/rooms and /api/dms: rooms, membership, members.

import type {
  DirectRoomRequest,
  MemberList,
  NewRoom,
  Room,
  RoomId,
  RoomList,
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

export const listMembers = (room: RoomId, cursor?: string | null) =>
  request<MemberList>('GET', `/rooms/${room}/members`, { query: { cursor, limit: 100 } });
