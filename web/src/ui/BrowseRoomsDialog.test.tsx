// @vitest-environment jsdom
import type { Room, RoomList } from '@protocol';
import { QueryClientProvider } from '@tanstack/react-query';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createQueryClient } from '../api/queries';
import { openDialog } from '../app/ui-state';
import { BrowseRoomsDialog } from './BrowseRoomsDialog';

const room = (n: number): Room => ({
  id: `0193a6c1-0000-7000-8000-0000000001${String(n).padStart(2, '0')}`,
  kind: 'public',
  name: `room-${n}`,
  description: null,
  topic: null,
  owner_id: null,
  member_count: 1,
  created_at: '2026-11-21T05:00:00.000Z',
  my_role: null,
});

const fetchMock = vi.fn<typeof fetch>(async (input) => {
  const cursor = new URL(String(input), 'http://x').searchParams.get('cursor');
  const body: RoomList = cursor
    ? { rooms: [room(3)], next_cursor: null }
    : { rooms: [room(1), room(2)], next_cursor: 'after-2' };
  return new Response(JSON.stringify(body), { status: 200 });
});

beforeEach(() => vi.stubGlobal('fetch', fetchMock));
afterEach(() => {
  cleanup();
  act(() => openDialog(null));
  vi.unstubAllGlobals();
});

describe('browsing public rooms', () => {
  it('shows a page, and the next one on request', async () => {
    render(
      <QueryClientProvider client={createQueryClient()}>
        <BrowseRoomsDialog />
      </QueryClientProvider>,
    );
    act(() => openDialog('browse_rooms'));
    expect(await screen.findByText('# room-2')).toBeTruthy();
    expect(screen.queryByText('# room-3')).toBeNull();

    fireEvent.click(screen.getByRole('button', { name: 'Show more rooms' }));

    expect(await screen.findByText('# room-3')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Show more rooms' })).toBeNull();
    expect(String(fetchMock.mock.calls.at(-1)![0])).toContain('cursor=after-2');
  });
});
