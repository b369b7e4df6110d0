import type { NewPushSubscription } from '@protocol';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import {
  PushSetupError,
  base64UrlBytes,
  offHint,
  readDevicePush,
  subscriptionBody,
  turnOffDevicePush,
  turnOnDevicePush,
  type DeviceSubscription,
  type PushBrowser,
  type PushServer,
} from './device-push';

// A P-256 public key is 65 bytes; any 65 bytes do here.
const KEY_BYTES = Uint8Array.from({ length: 65 }, (_, i) => i);
const KEY = btoa(String.fromCharCode(...KEY_BYTES)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const ENDPOINT = 'https://push.example/send/abc';

function subscription(key: Uint8Array = KEY_BYTES): DeviceSubscription & { unsubscribe: ReturnType<typeof vi.fn> } {
  return {
    endpoint: ENDPOINT,
    options: { applicationServerKey: key.slice().buffer },
    toJSON: () => ({ endpoint: ENDPOINT, expirationTime: null, keys: { p256dh: 'p', auth: 'a' } }),
    unsubscribe: vi.fn(async () => true),
  };
}

/** A browser whose person answers `answer`, holding `held` and subscribing as `subscribe` says. */
function browser({
  permission = 'default' as NotificationPermission,
  answer = 'granted' as NotificationPermission,
  held = null as DeviceSubscription | null,
  subscribe = async () => subscription() as DeviceSubscription,
  worker = true,
} = {}) {
  let current = permission;
  let holding = held;
  const manager = {
    getSubscription: vi.fn(async () => holding),
    subscribe: vi.fn(async () => {
      holding = await subscribe();
      return holding;
    }),
  };
  const fake: PushBrowser = {
    permission: () => current,
    requestPermission: vi.fn(async () => (current = answer)),
    pushManager: async (register) => (worker || !register ? manager : null),
  };
  return { fake, manager };
}

function server(overrides: Partial<PushServer> = {}) {
  const saved: NewPushSubscription[] = [];
  const removed: string[] = [];
  const fake: PushServer = {
    config: async () => ({ enabled: true, vapid_public_key: KEY }),
    save: async (body) => void saved.push(body),
    remove: async (endpoint) => void removed.push(endpoint),
    ...overrides,
  };
  return { fake, saved, removed };
}

/** The problem a failed turn-on names. */
async function problemOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PushSetupError);
  return (error as PushSetupError).problem;
}

describe('push on this device', () => {
  it('reads its state: unsupported, off (with the permission), on', async () => {
    expect(await readDevicePush(null)).toEqual({ status: 'unsupported' });
    expect(await readDevicePush(browser().fake)).toEqual({ status: 'off', permission: 'default' });
    expect(await readDevicePush(browser({ permission: 'denied' }).fake)).toEqual({ status: 'off', permission: 'denied' });
    expect(await readDevicePush(browser({ permission: 'granted', held: subscription() }).fake)).toEqual({ status: 'on' });
    // A subscription whose permission was taken back shows nothing any more.
    expect(await readDevicePush(browser({ permission: 'denied', held: subscription() }).fake)).toMatchObject({
      status: 'off',
    });
  });

  it('hints at what stands in the way before anyone tries', () => {
    expect(offHint({ status: 'unsupported' })).toMatch(/cannot show notifications/);
    expect(offHint({ status: 'off', permission: 'denied' })).toMatch(/blocked for this site/);
    expect(offHint({ status: 'off', permission: 'default' })).toBeNull();
    expect(offHint({ status: 'on' })).toBeNull();
  });

  it('turns on: asks, subscribes with the server key, hands the subscription over', async () => {
    const { fake, manager } = browser();
    const api = server();
    expect(await turnOnDevicePush(fake, api.fake)).toEqual({ status: 'on' });
    expect(fake.requestPermission).toHaveBeenCalledOnce();
    expect(manager.subscribe).toHaveBeenCalledWith({ userVisibleOnly: true, applicationServerKey: KEY_BYTES });
    expect(api.saved).toEqual([{ endpoint: ENDPOINT, keys: { p256dh: 'p', auth: 'a' }, expirationTime: null }]);
  });

  it('hands over a subscription the browser already holds, and replaces one made with another key', async () => {
    const same = browser({ permission: 'granted', held: subscription() });
    const api = server();
    await turnOnDevicePush(same.fake, api.fake);
    expect(same.manager.subscribe).not.toHaveBeenCalled();
    expect(api.saved).toHaveLength(1);

    const old = subscription(new Uint8Array(65));
    const other = browser({ permission: 'granted', held: old });
    await turnOnDevicePush(other.fake, server().fake);
    expect(old.unsubscribe).toHaveBeenCalled();
    expect(other.manager.subscribe).toHaveBeenCalledOnce();
  });

  it('names each way turning on fails', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(await problemOf(turnOnDevicePush(null))).toBe('unsupported');
    expect(await problemOf(turnOnDevicePush(browser({ answer: 'denied' }).fake, server().fake))).toBe('denied');
    expect(await problemOf(turnOnDevicePush(browser({ answer: 'default' }).fake, server().fake))).toBe('dismissed');
    const disabled = server({ config: async () => ({ enabled: false }) });
    expect(await problemOf(turnOnDevicePush(browser().fake, disabled.fake))).toBe('disabled');
    const unknownRoute = server({
      config: () => Promise.reject(new ApiError(404, { error: { code: 'not_found', message: 'no such route' } })),
    });
    expect(await problemOf(turnOnDevicePush(browser().fake, unknownRoute.fake))).toBe('disabled');
    const down = server({ config: () => Promise.reject(new ApiError(0, { error: { code: 'unavailable', message: 'x' } })) });
    expect(await problemOf(turnOnDevicePush(browser().fake, down.fake))).toBe('server');
    expect(await problemOf(turnOnDevicePush(browser({ worker: false }).fake, server().fake))).toBe('no_worker');
    const noPushService = browser({
      subscribe: () => Promise.reject(new DOMException('Registration failed - push service error', 'AbortError')),
    });
    expect(await problemOf(turnOnDevicePush(noPushService.fake, server().fake))).toBe('push_service');
    const refused = () => Promise.reject(new DOMException('Registration failed - permission denied', 'NotAllowedError'));
    // Permission granted, subscribing refused all the same: the push service is the problem.
    expect(await problemOf(turnOnDevicePush(browser({ subscribe: refused }).fake, server().fake))).toBe('push_service');
    const revoked = browser({ subscribe: refused });
    revoked.fake.permission = () => 'denied';
    expect(await problemOf(turnOnDevicePush(revoked.fake, server().fake))).toBe('denied');
  });

  it('drops the subscription again when the server does not take it', async () => {
    const made = subscription();
    const { fake } = browser({ subscribe: async () => made });
    const refusing = server({
      save: () => Promise.reject(new ApiError(422, { error: { code: 'validation_failed', message: 'endpoint must be https' } })),
    });
    const error = await turnOnDevicePush(fake, refusing.fake).catch((e: unknown) => e as PushSetupError);
    expect(error).toMatchObject({ problem: 'server', message: 'The server did not accept this device: endpoint must be https' });
    expect(made.unsubscribe).toHaveBeenCalled();
  });

  it('turns off: the server forgets the endpoint and the browser ends the subscription', async () => {
    const held = subscription();
    const api = server();
    expect(await turnOffDevicePush(browser({ permission: 'granted', held }).fake, api.fake)).toEqual({
      status: 'off',
      permission: 'granted',
    });
    expect(api.removed).toEqual([ENDPOINT]);
    expect(held.unsubscribe).toHaveBeenCalled();

    // Unreachable server: the browser still stops the pushes.
    const again = subscription();
    const down = server({ remove: () => Promise.reject(new ApiError(0, { error: { code: 'unavailable', message: 'x' } })) });
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    await turnOffDevicePush(browser({ permission: 'granted', held: again }).fake, down.fake);
    expect(again.unsubscribe).toHaveBeenCalled();
  });

  it('reads the subscription and the key as the server wants them', () => {
    expect(subscriptionBody({ endpoint: ENDPOINT, keys: { p256dh: 'p', auth: 'a' } })).toEqual({
      endpoint: ENDPOINT,
      keys: { p256dh: 'p', auth: 'a' },
      expirationTime: null,
    });
    expect(subscriptionBody({ endpoint: ENDPOINT })).toBeNull();
    expect(base64UrlBytes(KEY)).toEqual(KEY_BYTES);
    expect(base64UrlBytes('_-8')).toEqual(Uint8Array.from([0xff, 0xef]));
    expect(base64UrlBytes('not base64!')).toBeNull();
  });
});
