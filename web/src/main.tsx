import { QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createQueryClient } from './api/queries';
import { resumeSession } from './api/session';
import { App } from './app/App';
import './styles.css';

const queryClient = createQueryClient();
// A reload keeps the person signed in: their session cookie is asked for a fresh token.
void resumeSession();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <App />
    </QueryClientProvider>
  </StrictMode>,
);
