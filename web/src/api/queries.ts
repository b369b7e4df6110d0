// REST data for components, cached by react-query: query keys in one place, one hook per
// view, and the invalidations live events ask for.

import type { Member, Room, RoomId, User, UserId } from '@protocol';
import {
  QueryClient,
  useInfiniteQuery,
  useQuery,
  useQueryClient,
  type InfiniteData,
} from '@tanstack/react-query';
import type { LiveEffect } from '../live/state';
import { ApiError } from './client';
import { getRoom, listMembers, listMyRooms, listPublicRooms } from './rooms';
import { getUser, searchUsers } from './users';

export const keys = {
  myRooms: ['rooms', 'mine'] as const,
  publicRooms: (search: string) => ['rooms', 'public', search] as const,
  room: (room: RoomId) => ['room', room] as const,
  members: (room: RoomId) => ['members', room] as const,
  user: (user: UserId) => ['user', user] as const,
  userSearch: (search: string) => ['users', 'search', search] as const,
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
        break;
      case 'fill':
        break;
    }
  }
}
