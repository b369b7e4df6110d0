// Notifications as Grace sets them up: what notifies her by default, this browser's
// notifications, one room's level and a mute; then a message pushed to her browser while
// she looks elsewhere shows as a notification, and clicking it opens its room.
//
// The push itself is handed to the service worker through the DevTools protocol
// (ServiceWorker.deliverPushMessage): a real push goes from the server through the
// browser vendor's push service (Firebase Cloud Messaging for Chromium), which this
// sandbox cannot reach and headless Chromium is not connected to. What the test covers is
// everything on either side of it: the subscription the page makes (or the clear error when
// the push service is out of reach), and what the worker does with a delivered payload.

import { expect, test, type Page, type Worker } from '@playwright/test';
import type { PushNotification, Room } from '@protocol';
import { expectAccessible, person, runId, screenshot, signInThroughUi, signUpViaApi } from './support';

const DESKTOP = { width: 1280, height: 800 };

/** The service worker's global scope, as far as these tests use it (the DOM lib lacks it). */
interface WorkerScope {
  registration: ServiceWorkerRegistration;
  dispatchEvent(event: Event): boolean;
}

/** The notifications the service worker shows now. */
function shownNotifications(worker: Worker) {
  return worker.evaluate(async () => {
    const scope = self as unknown as WorkerScope;
    return (await scope.registration.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag }));
  });
}

/** Writes a message in the open room and waits until the server has confirmed it; its id. */
async function say(page: Page, label: string, text: string): Promise<string> {
  const box = page.getByRole('textbox', { name: `Message ${label}` });
  await box.fill(text);
  await box.press('Enter');
  await expect(box).toHaveValue('');
  const pane = page.getByRole('region', { name: `Conversation in ${label}` });
  await expect(pane.getByText(/^(Sending|Waiting to send)…$/)).toHaveCount(0);
  const id = await pane.getByRole('article').filter({ hasText: text }).getAttribute('data-message-id');
  expect(id, 'the message id').toBeTruthy();
  return id!;
}

test('Grace chooses what notifies her, and a pushed message opens its room', async ({ browser, baseURL, request }) => {
  // Usernames of their own: the chat story signs up its own Ada and Grace in this run.
  const ada = person('ada.n', 'Ada Lovelace');
  const grace = person('grace.n', 'Grace Hopper');
  const room = `coast-path-${runId}`;
  const inRoom = `#${room}`;
  const origin = new URL(baseURL!).origin;

  // Both accounts and their shared room come from the API; what Grace does is the story.
  const adaSession = await signUpViaApi(request, ada);
  const graceSession = await signUpViaApi(request, grace);
  const created = await request.post('/api/rooms', {
    data: { name: room, kind: 'public', topic: 'Saturday on the coast path' },
    headers: { authorization: `Bearer ${adaSession.access_token}` },
  });
  expect(created.status(), await created.text()).toBe(201);
  const roomId = ((await created.json()) as Room).id;
  const joined = await request.post(`/api/rooms/${roomId}/join`, {
    headers: { authorization: `Bearer ${graceSession.access_token}` },
  });
  expect(joined.ok(), await joined.text()).toBe(true);

  const hello = 'Nine at the lighthouse car park? I will bring the map.';
  const messageId = await test.step('Ada writes in the room', async () => {
    const adaContext = await browser.newContext({ baseURL, viewport: DESKTOP });
    const adaPage = await adaContext.newPage();
    await adaPage.goto('/');
    await signInThroughUi(adaPage, ada);
    await adaPage.getByRole('navigation', { name: 'Your rooms' }).getByRole('link', { name: room }).click();
    await expect(adaPage.getByRole('heading', { level: 1, name: inRoom })).toBeVisible();
    const id = await say(adaPage, inRoom, hello);
    await adaContext.close();
    return id;
  });

  // Notifications allowed for the site, as if Grace had said yes when the browser asked.
  const context = await browser.newContext({ baseURL, viewport: DESKTOP, permissions: ['notifications'] });
  const page = await context.newPage();
  await page.goto('/');
  await signInThroughUi(page, grace);
  await expect(page.getByRole('navigation', { name: 'Your rooms' })).toBeVisible();

  await test.step('she chooses what notifies her and turns on this browser', async () => {
    await page.getByRole('button', { name: `Your profile (${grace.displayName})` }).click();
    const profile = page.getByRole('dialog', { name: 'Your profile' });
    const notifications = profile.getByRole('region', { name: 'Notifications' });
    await notifications.getByRole('radio', { name: 'All messages' }).check();
    await expect(notifications.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();

    const device = notifications.getByRole('switch', { name: 'Notify me on this device' });
    await expect(device).not.toBeChecked();
    await device.click();
    // Headless Chromium has no push service to subscribe with: then the page must say so
    // plainly and leave the switch off. Where it has one, the switch stays on.
    const on = notifications.getByText(/^On: /);
    const unreachable = notifications
      .getByRole('alert')
      .filter({ hasText: "Your browser's push service could not be reached" });
    await expect(on.or(unreachable)).toBeVisible();
    if (await on.isVisible()) {
      await expect(device).toBeChecked();
    } else {
      console.log('push: no push service in this browser; the page said so');
      await expect(device).not.toBeChecked();
    }

    await notifications.scrollIntoViewIfNeeded();
    await expectAccessible(page, 'the notification settings');
    await screenshot(page, 'notification-settings');
    await profile.getByRole('button', { name: 'Close' }).click();
    await expect(profile).toBeHidden();
  });

  await test.step('she sets the room to all messages, mutes it and unmutes it', async () => {
    await page.getByRole('navigation', { name: 'Your rooms' }).getByRole('link', { name: room }).click();
    await expect(page.getByRole('heading', { level: 1, name: inRoom })).toBeVisible();
    await page.getByRole('button', { name: 'Notifications', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: `Notifications for ${inRoom}` });
    // Her profile says all messages: so does the room's default.
    await expect(dialog.getByRole('radio', { name: 'Default (all messages)' })).toBeChecked();
    await dialog.getByRole('radio', { name: 'All messages', exact: true }).check();
    await expect(dialog.getByRole('radio', { name: 'All messages', exact: true })).toBeChecked();

    await dialog.getByRole('button', { name: 'Mute for 1 hour' }).click();
    await expect(dialog.getByRole('status').filter({ hasText: /^Muted until / })).toBeVisible();
    await expectAccessible(page, 'the room notifications');
    await screenshot(page, 'room-notifications');

    await dialog.getByRole('button', { name: 'Unmute' }).click();
    await expect(dialog.getByRole('button', { name: 'Mute for 1 hour' })).toBeVisible();
    await expect(dialog.getByRole('radio', { name: 'All messages', exact: true })).toBeChecked();
    await dialog.getByRole('button', { name: 'Done' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByRole('button', { name: 'Notifications', exact: true })).toBeVisible();
  });

  await test.step('a message pushed while she is elsewhere shows, and its click opens the room', async () => {
    // Elsewhere: the home screen.
    await page.evaluate(() => {
      window.location.hash = '#/';
    });
    await expect(page.getByRole('heading', { name: 'Welcome' })).toBeVisible();
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));

    const cdp = await context.newCDPSession(page);
    const registrationId = new Promise<string>((resolve) => {
      cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
        const ours = registrations.find((r) => r.scopeURL === `${origin}/` && !r.isDeleted);
        if (ours) resolve(ours.registrationId);
      });
    });
    await cdp.send('ServiceWorker.enable');
    const payload: PushNotification = {
      type: 'message',
      room_id: roomId,
      room_name: room,
      message_id: messageId,
      sender_name: ada.displayName,
      excerpt: hello,
      count: 1,
      mention: false,
      sent_at: new Date().toISOString(),
      url: `/#/rooms/${roomId}`,
    };
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin,
      registrationId: await registrationId,
      data: JSON.stringify(payload),
    });

    await expect
      .poll(() => shownNotifications(worker), { message: 'the notification of the push' })
      .toContainEqual({ title: room, body: `${ada.displayName}: ${hello}`, tag: roomId });

    // The click, as the browser would deliver it to the worker.
    await worker.evaluate(async () => {
      const scope = self as unknown as WorkerScope;
      const [notification] = await scope.registration.getNotifications();
      const NotificationEvent = (
        globalThis as unknown as { NotificationEvent: new (type: string, init: { notification: Notification }) => Event }
      ).NotificationEvent;
      scope.dispatchEvent(new NotificationEvent('notificationclick', { notification: notification! }));
    });
    await expect(page).toHaveURL(new RegExp(`#/rooms/${roomId}$`));
    await expect(page.getByRole('heading', { level: 1, name: inRoom })).toBeVisible();
    await expect(page.getByRole('region', { name: `Conversation in ${inRoom}` }).getByText(hello)).toBeVisible();
    await expect.poll(() => shownNotifications(worker), { message: 'the clicked notification is closed' }).toEqual([]);
    await cdp.detach();
  });

  await context.close();
});
