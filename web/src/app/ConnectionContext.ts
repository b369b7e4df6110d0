import { createContext, useContext } from 'react';
import type { LiveConnection } from '../live/connection';

export const ConnectionContext = createContext<LiveConnection | null>(null);

/** The live connection of the signed-in user (inside the chat shell only). */
export function useConnection(): LiveConnection {
  const connection = useContext(ConnectionContext);
  if (!connection) throw new Error('useConnection outside the chat shell');
  return connection;
}
