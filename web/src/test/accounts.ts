// The signed-in account as the server describes it, for tests.

import type { Me } from '@protocol';
import { ME } from './frames';

export function account(overrides: Partial<Me> = {}): Me {
  return {
    id: ME,
    username: 'grace',
    email: 'grace@example.com',
    show_presence: true,
    send_read_receipts: true,
    email_verified: true,
    display_name: 'Grace',
    avatar_url: null,
    bio: null,
    created_at: '2026-11-21T05:00:00.000Z',
    notification_level: 'mentions',
    ...overrides,
  };
}
