// Under the last message a member has seen: who has read this far (read receipts).

import type { UserId } from '@protocol';
import { useUser } from '../api/queries';
import { displayName } from '../app/names';
import { UserAvatar } from './Avatar';

/** How many readers are named before "and N others". */
const NAMED = 3;

export function SeenBy({ readers, direct }: { readers: UserId[]; direct: boolean }) {
  const named = readers.slice(0, NAMED);
  const others = readers.length - named.length;
  return (
    <p className="seen-by muted">
      <span className="seen-by-faces" aria-hidden="true">
        {named.map((id) => (
          <UserAvatar key={id} id={id} size="small" />
        ))}
      </span>
      {direct ? (
        <span>Seen</span>
      ) : (
        <span>
          Seen by{' '}
          {named.map((id, index) => (
            <span key={id}>
              {index > 0 && (index === named.length - 1 && others === 0 ? ' and ' : ', ')}
              <ReaderName id={id} />
            </span>
          ))}
          {others > 0 && ` and ${others === 1 ? '1 other' : `${others} others`}`}
        </span>
      )}
    </p>
  );
}

function ReaderName({ id }: { id: UserId }) {
  const { data: user } = useUser(id);
  return <>{displayName(user)}</>;
}
