// Tells the user while the live connection is down, and lets them retry at once.

import { useEffect, useState } from 'react';
import { useConnection } from '../app/ConnectionContext';
import { useLive } from '../live/store';

export function OfflineBanner() {
  const { status, retryAt, stopReason, offline } = useLive((s) => s.connection);
  const connection = useConnection();
  const [now, setNow] = useState(() => Date.now());

  useEffect(() => {
    if (retryAt === null || offline) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [retryAt, offline]);

  let message: string | null = null;
  if (status === 'reconnecting' && offline) {
    message = 'Connection lost: you are offline. Reconnecting when the network is back…';
  } else if (status === 'reconnecting') {
    const seconds = retryAt === null ? 0 : Math.ceil((retryAt - now) / 1000);
    message =
      seconds > 0
        ? `Connection lost. Reconnecting in ${seconds} s…`
        : 'Connection lost. Reconnecting…';
  } else if (status === 'stopped') {
    message =
      stopReason === 'too_many_connections'
        ? 'Too many open windows of this chat. Close one, then retry.'
        : 'The connection was closed because of an error in this app. Reload the page.';
  } else if (status === 'connecting') {
    message = 'Connecting…';
  }

  return (
    <div className="offline-region" role="status" aria-live="polite">
      {message && (
        <div className="offline-banner" data-status={status}>
          <span>{message}</span>
          {(status === 'reconnecting' || stopReason === 'too_many_connections') && (
            <button type="button" className="link-button" onClick={connection.reconnectNow}>
              Retry now
            </button>
          )}
        </div>
      )}
    </div>
  );
}
