import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getUser } from './users';

const fetchMock = vi.fn<typeof fetch>();

const user = (id: string) => ({
  id,
  username: `u${id}`,
  display_name: null,
  avatar_url: null,
  bio: null,
  created_at: '2026-11-21T06:00:00.000Z',
});

beforeEach(() => {
  vi.stubGlobal('fetch', fetchMock);
  fetchMock.mockReset();
});

afterEach(() => vi.unstubAllGlobals());

describe('looking up users', () => {
  it('asks once for everyone asked for in the same moment', async () => {
    fetchMock.mockResolvedValue(
      new Response(JSON.stringify({ users: [user('a'), user('b')] }), { status: 200 }),
    );
    const [a, b, again] = await Promise.all([getUser('a'), getUser('b'), getUser('a')]);
    expect(fetchMock).toHaveBeenCalledOnce();
    expect(String(fetchMock.mock.calls[0]![0])).toBe('/api/users?ids=a%2Cb');
    expect([a.username, b.username, again.username]).toEqual(['ua', 'ub', 'ua']);
  });

  it('refuses an id the server does not know, and only that one', async () => {
    fetchMock.mockResolvedValue(new Response(JSON.stringify({ users: [user('a')] }), { status: 200 }));
    const [a, gone] = await Promise.allSettled([getUser('a'), getUser('gone')]);
    expect(a.status).toBe('fulfilled');
    expect(gone).toMatchObject({ status: 'rejected', reason: { status: 404, code: 'user_not_found' } });
  });

  it('splits more than a hundred ids into several lookups', async () => {
    fetchMock.mockImplementation(async (input) => {
      const ids = new URL(String(input), 'http://x').searchParams.get('ids')!.split(',');
      return new Response(JSON.stringify({ users: ids.map(user) }), { status: 200 });
    });
    const ids = Array.from({ length: 150 }, (_, i) => `id${i}`);
    const users = await Promise.all(ids.map(getUser));
    expect(users.map((u) => u.id)).toEqual(ids);
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });
});
