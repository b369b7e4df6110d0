// The live state for components: the pure state of state.ts plus how the connection is
// doing. Components select from `useLive`; only the connection and the room view change it.

import { create } from 'zustand';
import { initialLiveState, type LiveEffect, type LiveState, type Step } from './state';

export type ConnectionStatus =
  /** Not started (signed out). */
  | 'idle'
  /** First connection of this session. */
  | 'connecting'
  | 'online'
  /** Lost; the next attempt is due at `retryAt` (or under way when null). */
  | 'reconnecting'
  /** Given up until the user acts (`stopReason`). */
  | 'stopped';

export interface ConnectionView {
  status: ConnectionStatus;
  retryAt: number | null;
  stopReason: 'too_many_connections' | 'client_bug' | null;
  /** The device has no network (as the browser says): the next attempt waits for it. */
  offline: boolean;
}

export interface LiveStore extends LiveState {
  connection: ConnectionView;
}

const idle: ConnectionView = { status: 'idle', retryAt: null, stopReason: null, offline: false };

export const useLive = create<LiveStore>()(() => ({ ...initialLiveState, connection: idle }));

function liveState(store: LiveStore): LiveState {
  const { connection: _connection, ...state } = store;
  return state;
}

/** Applies one of state.ts's steps to the store and returns its effects. */
export function run(step: (state: LiveState) => Step): LiveEffect[] {
  const { state, effects } = step(liveState(useLive.getState()));
  useLive.setState(state);
  return effects;
}

export function setConnection(connection: Partial<ConnectionView>): void {
  useLive.setState((store) => ({ connection: { ...store.connection, ...connection } }));
}

/** Forgets everything (signing out). */
export function resetLive(): void {
  useLive.setState({ ...initialLiveState, connection: idle }, false);
}
