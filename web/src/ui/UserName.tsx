// A person's name that opens their profile.

import type { UserId } from '@protocol';
import { useUser } from '../api/queries';
import { displayName } from '../app/names';
import { openProfile } from '../app/ui-state';

export function UserName({ id, className }: { id: UserId; className?: string }) {
  const { data: user } = useUser(id);
  return (
    <button
      type="button"
      className={`user-name ${className ?? ''}`}
      onClick={() => openProfile(id)}
    >
      {displayName(user)}
    </button>
  );
}
