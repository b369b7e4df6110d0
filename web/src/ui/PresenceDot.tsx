// A dot for someone's presence: green online, amber away, hollow offline; named for
// screen readers. Showing it follows the user's presence over the socket.

import type { UserId } from '@protocol';
import { presenceLabel, usePresenceOf } from '../live/presence';

export function PresenceDot({ user }: { user: UserId }) {
  const presence = usePresenceOf(user);
  if (!presence) return null;
  const label = presenceLabel(presence) ?? '';
  return <span className="presence-dot" data-status={presence.status} role="img" aria-label={label} title={label} />;
}

/** "Online", "Away", "Last seen …", as a line of text (profiles). */
export function PresenceText({ user }: { user: UserId }) {
  const presence = usePresenceOf(user);
  const label = presenceLabel(presence);
  if (!label) return null;
  return (
    <p className="presence-text" data-status={presence?.status}>
      <span className="presence-dot" data-status={presence?.status} aria-hidden="true" /> {label}
    </p>
  );
}
