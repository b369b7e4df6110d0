// REST data for components, cached by react-query: query keys in one place, one hook per
// view, and the invalidations live events ask for.

import type { Me, Member, Room, RoomId, User, UserId } from '@protocol';
import {
  QueryClient,
  useInfiniteQuery,
  useQuery,
  useQueryClient,
  type InfiniteData,
} from '@tanstack/react-query';
import type { LiveEffect } from '../live/state';
import { ApiError } from './client';
import { getMe } from './auth';
import { fetchFile } from './files';
import { getRoomNotifications } from './notifications';
import { getRoom, listMembers, listMyRooms, listPublicRooms } from './rooms';
import { searchMessages } from './search';
import { updateMe } from './session';
import { getUser, searchUsers } from './users';

export const keys = {
  myRooms: ['rooms', 'mine'] as const,
  publicRooms: (search: string) => ['rooms', 'public', search] as const,
  room: (room: RoomId) => ['room', room] as const,
  members: (room: RoomId) => ['members', room] as const,
  user: (user: UserId) => ['user', user] as const,
  userSearch: (search: string) => ['users', 'search', search] as const,
  messageSearch: (q: string, room: RoomId | null) => ['messages', 'search', q, room] as const,
  file: (url: string) => ['file', url] as const,
  /** The signed-in account as `GET /api/auth/me` has it (with its notification level). */
  me: ['me'] as const,
  roomNotifications: (room: RoomId) => ['room-notifications', room] as const,
};

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 30_000,
        refetchOnWindowFocus: false,
        // A refusal (4xx) will not change by asking again; no answer (0) or 5xx may.
        retry: (failures, error) =>
          failures < 2 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
      },
      mutations: { retry: false },
    },
  });
}

/** The user's rooms, every page (a user rarely has more than one page of 100). */
export function useMyRooms() {
  const query = useInfiniteQuery({
    queryKey: keys.myRooms,
    queryFn: ({ pageParam }) => listMyRooms(pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor,
  });
  const rooms = query.data?.pages.flatMap((page) => page.rooms) ?? [];
  return { ...query, rooms };
}

/** One room: from the room list when there, else from the API. */
export function useRoom(room: RoomId) {
  const client = useQueryClient();
  return useQuery({
    queryKey: keys.room(room),
    queryFn: () => getRoom(room),
    initialData: () => findInMyRooms(client, room),
  });
}

function findInMyRooms(client: QueryClient, room: RoomId): Room | undefined {
  const data = client.getQueryData<InfiniteData<{ rooms: Room[] }>>(keys.myRooms);
  return data?.pages.flatMap((page) => page.rooms).find((r) => r.id === room);
}

/** Messages matching `q`, a page at a time; nothing is asked for an empty query. */
export function useMessageSearch(q: string, room: RoomId | null) {
  const query = useInfiniteQuery({
    queryKey: keys.messageSearch(q, room),
    queryFn: ({ pageParam }) => searchMessages(q, room, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor,
    enabled: q.length > 0,
    staleTime: 5_000,
  });
  const results = query.data?.pages.flatMap((page) => page.results) ?? [];
  return { ...query, results };
}

/** Public rooms matching `search`, a page at a time (`fetchNextPage` for more). */
export function usePublicRooms(search: string) {
  const query = useInfiniteQuery({
    queryKey: keys.publicRooms(search),
    queryFn: ({ pageParam }) => listPublicRooms(search, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor,
    staleTime: 10_000,
  });
  const rooms = query.data?.pages.flatMap((page) => page.rooms) ?? [];
  return { ...query, rooms };
}

export function useMembers(room: RoomId) {
  const query = useInfiniteQuery({
    queryKey: keys.members(room),
    queryFn: ({ pageParam }) => listMembers(room, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor,
  });
  const members: Member[] = query.data?.pages.flatMap((page) => page.members) ?? [];
  return { ...query, members };
}

/** A user's public profile; cached a while, since every message shows its sender's name. */
export function useUser(user: UserId | null | undefined) {
  return useQuery({
    queryKey: keys.user(user ?? ''),
    queryFn: () => getUser(user!),
    enabled: !!user,
    staleTime: 10 * 60_000,
  });
}

export function useUserSearch(search: string) {
  const client = useQueryClient();
  return useQuery({
    queryKey: keys.userSearch(search),
    queryFn: async () => {
      const found = await searchUsers(search);
      for (const user of found.users) client.setQueryData<User>(keys.user(user.id), user);
      return found.users;
    },
    enabled: search.length > 0,
    staleTime: 10_000,
  });
}

/**
 * The signed-in account with what sign-in answers leave out (its notification level):
 * asked when a screen needs it, since the session's copy comes from sign-in.
 */
export function useAccount() {
  return useQuery({ queryKey: keys.me, queryFn: getMe, staleTime: 60_000 });
}

/** Makes `updated` (an answer of an account edit) the signed-in account everywhere it shows. */
export function useAccountUpdate() {
  const queryClient = useQueryClient();
  return (updated: Me) => {
    updateMe(updated);
    queryClient.setQueryData(keys.me, updated);
    queryClient.setQueryData(keys.user(updated.id), {
      id: updated.id,
      username: updated.username,
      display_name: updated.display_name,
      avatar_url: updated.avatar_url,
      bio: updated.bio,
      created_at: updated.created_at,
    } satisfies User);
  };
}

/** What the room tells the user while away: its own level, a mute, what applies now. */
export function useRoomNotifications(room: RoomId) {
  return useQuery({ queryKey: keys.roomNotifications(room), queryFn: () => getRoomNotifications(room) });
}

/** Carries out what live events ask of the REST cache. */
export function applyLiveEffects(client: QueryClient, effects: readonly LiveEffect[]): void {
  for (const effect of effects) {
    switch (effect.type) {
      case 'rooms_changed':
        void client.invalidateQueries({ queryKey: keys.myRooms });
        break;
      case 'members_changed':
        void client.invalidateQueries({ queryKey: keys.members(effect.room) });
        break;
      case 'details_changed':
        void client.invalidateQueries({ queryKey: keys.room(effect.room) });
        void client.invalidateQueries({ queryKey: keys.myRooms });
        break;
      case 'room_removed':
        client.removeQueries({ queryKey: keys.room(effect.room) });
        client.removeQueries({ queryKey: keys.members(effect.room) });
        client.removeQueries({ queryKey: keys.roomNotifications(effect.room) });
        break;
      case 'fill':
        break;
    }
  }
}

/** Whether `url` is a file of this server, fetched with the access token. */
export function isServedFile(url: string | null | undefined): url is string {
  return !!url && url.startsWith('/api/files/');
}

/**
 * A file of this server (an avatar, a thumbnail, an image) as an object URL the page can
 * show: files need the access token, which an `<img src>` cannot send. The bytes at a
 * file's URL never change, so each is fetched once while the app is open.
 */
export function useFileUrl(url: string | null | undefined) {
  return useQuery({
    queryKey: keys.file(url ?? ''),
    queryFn: async ({ signal }) => URL.createObjectURL(await fetchFile(url!, signal)),
    enabled: isServedFile(url),
    staleTime: Infinity,
    gcTime: Infinity,
  });
}
