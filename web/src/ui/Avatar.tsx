// A person's picture, or their initials. Only pictures served by this site are shown:
// the page's Content-Security-Policy allows images from its own origin (and uploaded
// avatars, fetched with the access token, as `blob:` URLs), so an avatar URL on another
// host, which would tell that host who looks at whom, falls back to initials.

import type { UserId } from '@protocol';
import { isServedFile, useFileUrl, useUser } from '../api/queries';
import { displayName, initials } from '../app/names';

type Size = 'small' | 'medium' | 'large';

/** Whether the browser may load `url` under the page's policy (same origin only). */
export function isOwnImage(url: string | null | undefined, origin: string = window.location.origin): boolean {
  if (!url) return false;
  try {
    return new URL(url, origin).origin === origin;
  } catch {
    return false;
  }
}

export function Avatar({ name, url, size = 'medium' }: { name: string; url?: string | null; size?: Size }) {
  const className = size === 'medium' ? 'avatar' : `avatar ${size}`;
  // An uploaded picture needs the access token: fetched, then shown from memory.
  const { data: fetched } = useFileUrl(url);
  const src = isServedFile(url) ? fetched : isOwnImage(url) ? url : undefined;
  if (src) {
    return <img className={className} src={src} alt="" aria-hidden="true" decoding="async" />;
  }
  return (
    <span className={className} aria-hidden="true">
      {initials(name)}
    </span>
  );
}

/** The avatar of a user known by id (looked up with everyone else on screen). */
export function UserAvatar({ id, size }: { id: UserId; size?: Size }) {
  const { data: user } = useUser(id);
  return <Avatar name={displayName(user)} url={user?.avatar_url} size={size ?? 'medium'} />;
}
