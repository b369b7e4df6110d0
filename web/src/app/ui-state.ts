// What is open on screen besides the current room: dialogs, the profile panel, a notice.

import type { UserId } from '@protocol';
import { create } from 'zustand';

export type DialogName = 'create_room' | 'browse_rooms' | 'direct_message' | 'search';

export interface UiState {
  dialog: DialogName | null;
  /** Whose profile is shown. */
  profile: UserId | null;
  membersOpen: boolean;
  /** A short message to the user (left a room, was removed, ...). */
  notice: string | null;
}

export const useUi = create<UiState>(() => ({
  dialog: null,
  profile: null,
  membersOpen: false,
  notice: null,
}));

export const openDialog = (dialog: DialogName | null) => useUi.setState({ dialog });
export const openProfile = (profile: UserId | null) => useUi.setState({ profile });
export const toggleMembers = (open?: boolean) =>
  useUi.setState((ui) => ({ membersOpen: open ?? !ui.membersOpen }));
export const showNotice = (notice: string | null) => useUi.setState({ notice });
