// The signed-in user, their profile and signing out.

import { signOut, useSession } from '../api/session';
import { forgetDevicePush } from '../notifications/device-push';
import { openProfile } from '../app/ui-state';
import { displayName } from '../app/names';
import { Avatar } from './Avatar';
import { Menu } from './Menu';

export function AccountBar() {
  const me = useSession((s) => s.me);
  if (!me) return null;
  const name = displayName(me);
  return (
    <header className="account-bar">
      <button
        type="button"
        className="account-button"
        onClick={() => openProfile(me.id)}
        aria-label={`Your profile (${name})`}
      >
        <Avatar name={name} url={me.avatar_url} />
        <span className="account-name">{name}</span>
      </button>
      <Menu button="Log out" buttonClass="button subtle" label="Log out">
        <button type="button" className="menu-item" onClick={() => void logOut(false)}>
          Log out on this device
        </button>
        <button type="button" className="menu-item" onClick={() => void logOut(true)}>
          Log out on all devices
        </button>
      </Menu>
    </header>
  );
}

/** Signs out, after stopping this browser's notifications: they were the account's. */
async function logOut(everywhere: boolean): Promise<void> {
  await forgetDevicePush();
  await signOut(everywhere);
}
