// Push notifications on this device: whether they are on, turning them on (the person's
// permission, the server's key, a subscription from the browser's push service, handed to
// the server) and off again. The browser and the server come in as small interfaces, so
// the steps and their failures are tested without either.

import type { NewPushSubscription, PushConfig } from '@protocol';
import { ApiError } from '../api/client';
import { addPushSubscription, getPushConfig, removePushSubscription } from '../api/notifications';
import { activeRegistration, existingRegistration } from './service-worker';

/** This device, as the switch shows it. */
export type DevicePush =
  /** The browser cannot do it (no service workers, no Push API, no notifications). */
  | { status: 'unsupported' }
  /** Not subscribed; `permission: 'denied'` means the browser blocks the site. */
  | { status: 'off'; permission: NotificationPermission }
  | { status: 'on' };

/** Why turning notifications on failed. */
export type PushProblem =
  | 'unsupported'
  /** The person or their browser blocks notifications for the site. */
  | 'denied'
  /** The browser asked and the person closed the question without an answer. */
  | 'dismissed'
  /** This server sends no push notifications (no VAPID key configured). */
  | 'disabled'
  /** The service worker did not start. */
  | 'no_worker'
  /** The browser's push service refused or could not be reached. */
  | 'push_service'
  /** Our server refused, or could not be reached. */
  | 'server';

const PROBLEMS: Record<Exclude<PushProblem, 'server'>, string> = {
  unsupported:
    'This browser cannot show notifications from web pages. On an iPhone or iPad, add the chat to your Home Screen and open it from there.',
  denied:
    'Notifications are blocked for this site. To allow them, open the site settings (the icon beside the address), set Notifications to Allow, and turn this on again.',
  dismissed: 'Notifications were not allowed. Turn this on again and choose Allow when your browser asks.',
  disabled: 'This server does not send notifications.',
  no_worker: 'Notifications could not be set up in this page. Reload it and try again.',
  push_service:
    "Your browser's push service could not be reached, so notifications cannot be turned on here. Check your connection and try again later; a private window cannot get them at all.",
};

export class PushSetupError extends Error {
  readonly problem: PushProblem;

  constructor(problem: PushProblem, message?: string) {
    super(message ?? (problem === 'server' ? 'The server could not be reached. Please try again.' : PROBLEMS[problem]));
    this.name = 'PushSetupError';
    this.problem = problem;
  }
}

/** Shown, while off, before the person tries: what keeps the switch from working. */
export function offHint(state: DevicePush): string | null {
  if (state.status === 'unsupported') return PROBLEMS.unsupported;
  if (state.status === 'off' && state.permission === 'denied') return PROBLEMS.denied;
  return null;
}

/** A push subscription as this code uses it (the browser's `PushSubscription`). */
export interface DeviceSubscription {
  readonly endpoint: string;
  readonly options?: { readonly applicationServerKey: ArrayBuffer | null };
  toJSON(): PushSubscriptionJSON;
  unsubscribe(): Promise<boolean>;
}

/** The browser's `PushManager`, as far as it is used here. */
export interface DevicePushManager {
  getSubscription(): Promise<DeviceSubscription | null>;
  subscribe(options: { userVisibleOnly: boolean; applicationServerKey: BufferSource }): Promise<DeviceSubscription>;
}

/** What the browser offers for push. */
export interface PushBrowser {
  permission(): NotificationPermission;
  /** Asks the person; browsers only ask during a click, so it is called first thing. */
  requestPermission(): Promise<NotificationPermission>;
  /** The push manager of the service worker; with `register`, registering and waiting for it. */
  pushManager(register: boolean): Promise<DevicePushManager | null>;
}

/** Where the server keeps this device's subscription. */
export interface PushServer {
  config(): Promise<PushConfig>;
  save(subscription: NewPushSubscription): Promise<unknown>;
  remove(endpoint: string): Promise<void>;
}

export const apiPushServer: PushServer = {
  config: getPushConfig,
  save: addPushSubscription,
  remove: removePushSubscription,
};

/** This browser's push, or null when it has none. */
export function browserPush(): PushBrowser | null {
  if (
    typeof window === 'undefined' ||
    !('serviceWorker' in navigator) ||
    !('PushManager' in window) ||
    !('Notification' in window)
  ) {
    return null;
  }
  return {
    permission: () => Notification.permission,
    requestPermission: () => Notification.requestPermission(),
    pushManager: async (register) => {
      const registration = register ? await activeRegistration() : await existingRegistration();
      return registration?.pushManager ?? null;
    },
  };
}

/** Whether this device gets notifications now: permission granted and a subscription held. */
export async function readDevicePush(browser: PushBrowser | null): Promise<DevicePush> {
  if (!browser) return { status: 'unsupported' };
  const permission = browser.permission();
  const manager = await browser.pushManager(false).catch(() => null);
  const subscription = manager ? await manager.getSubscription().catch(() => null) : null;
  return permission === 'granted' && subscription ? { status: 'on' } : { status: 'off', permission };
}

/**
 * Turns notifications on: asks the person (called straight from their click), reads the
 * server's key, subscribes with the browser's push service and gives the subscription to
 * the server. Fails with a `PushSetupError` saying which step failed; a subscription the
 * server did not take is dropped again, so the switch never shows "on" for nothing.
 */
export async function turnOnDevicePush(
  browser: PushBrowser | null,
  server: PushServer = apiPushServer,
): Promise<DevicePush> {
  if (!browser) throw new PushSetupError('unsupported');
  const permission = await browser.requestPermission();
  if (permission === 'denied') throw new PushSetupError('denied');
  if (permission !== 'granted') throw new PushSetupError('dismissed');

  const config: PushConfig = await server.config().catch((error: unknown) => {
    // A server without push at all may not know the route.
    if (error instanceof ApiError && error.status === 404) return { enabled: false };
    throw serverProblem(error);
  });
  if (!config.enabled || !config.vapid_public_key) throw new PushSetupError('disabled');
  const key = base64UrlBytes(config.vapid_public_key);
  if (!key) throw new PushSetupError('server', "The server's push key is not valid.");

  const manager = await browser.pushManager(true).catch(() => null);
  if (!manager) throw new PushSetupError('no_worker');
  let subscription = await manager.getSubscription().catch(() => null);
  if (subscription && !sameBytes(subscription.options?.applicationServerKey ?? null, key)) {
    // Made with another key (the server's changed): pushes to it would be refused.
    await subscription.unsubscribe().catch(() => false);
    subscription = null;
  }
  if (!subscription) {
    try {
      subscription = await manager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    } catch (error) {
      console.warn('push: subscribe refused', error);
      // Refused for permission only counts as such when the permission is gone; a browser
      // without a push service can say NotAllowedError too.
      const blocked = error instanceof DOMException && error.name === 'NotAllowedError' && browser.permission() !== 'granted';
      throw new PushSetupError(blocked ? 'denied' : 'push_service');
    }
  }

  const body = subscriptionBody(subscription.toJSON());
  try {
    if (!body) throw new PushSetupError('push_service');
    await server.save(body);
  } catch (error) {
    await subscription.unsubscribe().catch(() => false);
    throw error instanceof PushSetupError ? error : serverProblem(error);
  }
  return { status: 'on' };
}

/**
 * Turns notifications off: the server forgets the endpoint, then the browser ends the
 * subscription (which stops pushes even when the server could not be told).
 */
export async function turnOffDevicePush(
  browser: PushBrowser | null,
  server: PushServer = apiPushServer,
): Promise<DevicePush> {
  if (!browser) return { status: 'unsupported' };
  const manager = await browser.pushManager(false).catch(() => null);
  const subscription = manager ? await manager.getSubscription().catch(() => null) : null;
  if (subscription) {
    await server.remove(subscription.endpoint).catch((error: unknown) => {
      console.warn('push: the server was not told to stop', error);
    });
    await subscription.unsubscribe().catch(() => false);
  }
  return { status: 'off', permission: browser.permission() };
}

/** Signing out waits this long at most for the server to forget the device. */
const FORGET_TIMEOUT_MS = 3_000;

/** On signing out: nothing of this account is pushed to this browser any more. */
export async function forgetDevicePush(): Promise<void> {
  const off = turnOffDevicePush(browserPush()).catch((error: unknown) => console.warn('push: not turned off', error));
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([off, new Promise((resolve) => (timer = setTimeout(resolve, FORGET_TIMEOUT_MS)))]);
  clearTimeout(timer);
}

/** The body of `POST /api/push/subscriptions` from `PushSubscription.toJSON()`; null without keys. */
export function subscriptionBody(json: PushSubscriptionJSON): NewPushSubscription | null {
  const { endpoint, keys } = json;
  if (!endpoint || !keys?.p256dh || !keys.auth) return null;
  return { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth }, expirationTime: json.expirationTime ?? null };
}

/** The bytes of unpadded base64url text (the VAPID key); null when it is not base64url. */
export function base64UrlBytes(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

function sameBytes(a: ArrayBuffer | null, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false;
  const bytes = new Uint8Array(a);
  return bytes.every((byte, i) => byte === b[i]);
}

function serverProblem(error: unknown): PushSetupError {
  if (error instanceof ApiError && error.code !== 'unavailable') {
    return new PushSetupError('server', `The server did not accept this device: ${error.message}`);
  }
  return new PushSetupError('server');
}
