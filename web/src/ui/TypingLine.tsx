// "Grace is typing…" under the conversation, for the open room.

import type { RoomId } from '@protocol';
import { useEffect, useState } from 'react';
import { useQueries } from '@tanstack/react-query';
import { keys } from '../api/queries';
import { getUser } from '../api/users';
import { displayName } from '../app/names';
import { useLive } from '../live/store';
import { typingSentence, typistsIn } from '../live/typing';

export function TypingLine({ room }: { room: RoomId }) {
  const board = useLive((s) => s.typing[room]);
  const [now, setNow] = useState(() => Date.now());
  // While someone is typing, look again every second: a `start` whose `stop` never came
  // lapses on its own.
  useEffect(() => {
    setNow(Date.now());
    if (!board) return;
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [board]);
  const typists = board ? typistsIn({ [room]: board }, room, now) : [];
  const users = useQueries({
    queries: typists.map((id) => ({
      queryKey: keys.user(id),
      queryFn: () => getUser(id),
      staleTime: 10 * 60_000,
    })),
  });
  const sentence = typingSentence(users.map((user) => displayName(user.data).split(' ')[0]!));
  return (
    <p className="typing-line" aria-live="polite">
      {sentence ?? ''}
    </p>
  );
}
