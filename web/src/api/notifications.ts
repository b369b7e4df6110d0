// /api/push and /api/rooms/{id}/notifications: this device's Web Push subscription, and
// what each room tells the user while they are away. The account's own level is part of
// the profile (`PATCH /api/auth/me`, `notification_level`).

import type {
  NewPushSubscription,
  PushConfig,
  PushEndpoint,
  PushSubscriptionView,
  RoomId,
  RoomNotifications,
  RoomNotificationsUpdate,
} from '@protocol';
import { request } from './client';

/** Whether the server sends push notifications, and the key to subscribe with. */
export const getPushConfig = () => request<PushConfig>('GET', '/push/config');

/** Tells the server where to push to this browser (`PushSubscription.toJSON()`). */
export const addPushSubscription = (body: NewPushSubscription) =>
  request<PushSubscriptionView>('POST', '/push/subscriptions', { body });

/** Stops pushing to this endpoint. */
export const removePushSubscription = (endpoint: string) =>
  request<void>('DELETE', '/push/subscriptions', { body: { endpoint } satisfies PushEndpoint });

export const getRoomNotifications = (room: RoomId) =>
  request<RoomNotifications>('GET', `/rooms/${room}/notifications`);

/** Sets the room's level and mute together: what the body leaves out goes back to the default. */
export const setRoomNotifications = (room: RoomId, body: RoomNotificationsUpdate) =>
  request<RoomNotifications>('PUT', `/rooms/${room}/notifications`, { body });
