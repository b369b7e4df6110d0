import { useQueryClient } from '@tanstack/react-query';
import { Suspense, lazy, useEffect } from 'react';
import { useSession } from '../api/session';
import { ResetPasswordPage, VerifyEmailPage } from '../ui/AccountLinks';
import { SignIn } from '../ui/SignIn';
import { ErrorBoundary } from './ErrorBoundary';
import { useRoute } from './route';

// Everything after sign-in (the live connection, the timeline) loads in its own chunk.
const ChatShell = lazy(() => import('../ui/ChatShell'));

export function App() {
  const status = useSession((s) => s.status);
  const queryClient = useQueryClient();
  const route = useRoute();

  useEffect(() => {
    // Nothing of one user's data stays for the next one.
    if (status === 'signed_out') queryClient.clear();
  }, [status, queryClient]);

  // A mailed link opens its page whether or not this browser is signed in.
  if (route.screen === 'reset-password') return <ResetPasswordPage token={route.token} />;
  if (route.screen === 'verify-email') return <VerifyEmailPage token={route.token} />;
  if (status === 'resuming') {
    return (
      <p className="page-loading" role="status">
        Loading…
      </p>
    );
  }
  if (status === 'signed_out') return <SignIn />;
  return (
    <ErrorBoundary>
      <Suspense
        fallback={
          <p className="page-loading" role="status">
            Loading…
          </p>
        }
      >
        <ChatShell />
      </Suspense>
    </ErrorBoundary>
  );
}
