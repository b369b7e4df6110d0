// The chat as two people use it: Ada and Grace register, meet in a public room, talk
// through Grace's connection dropping, move to a direct conversation, look at each
// other's profile, and Grace carries on from her phone. Everything through the UI (one
// profile bio through the REST API), every wait an assertion that waits.

import { expect, test, type Page } from '@playwright/test';
import {
  expectAccessible,
  kib,
  person,
  recordScripts,
  registerThroughUi,
  runId,
  screenshot,
  signInThroughUi,
  signUpViaApi,
  updateProfileViaApi,
} from './support';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** The conversation pane of the open room, named by whom it is with ("#room" or a person). */
const conversation = (page: Page, label: string) =>
  page.getByRole('region', { name: `Conversation in ${label}` });

/** Writes a message in the open room and waits until the server has confirmed it. */
async function say(page: Page, label: string, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: `Message ${label}` });
  await box.fill(text);
  await box.press('Enter');
  await expect(box).toHaveValue('');
  const pane = conversation(page, label);
  await expect(pane.getByText(text, { exact: true })).toHaveCount(1);
  await expect(pane.getByText(/^(Sending|Waiting to send)…$/)).toHaveCount(0);
}

/** The message shows in the open room, once. */
async function sees(page: Page, label: string, text: string): Promise<void> {
  await expect(conversation(page, label).getByText(text, { exact: true })).toHaveCount(1);
}

/** A PNG drawn in the page: a landscape (sky, hills, sun) or a portrait (a face-like disc). */
async function drawPicture(page: Page, kind: 'landscape' | 'portrait'): Promise<Buffer> {
  const data = await page.evaluate((kind) => {
    const canvas = document.createElement('canvas');
    canvas.width = kind === 'landscape' ? 1200 : 400;
    canvas.height = kind === 'landscape' ? 800 : 400;
    const g = canvas.getContext('2d')!;
    if (kind === 'landscape') {
      const sky = g.createLinearGradient(0, 0, 0, 800);
      sky.addColorStop(0, '#5b8def');
      sky.addColorStop(1, '#f7c59f');
      g.fillStyle = sky;
      g.fillRect(0, 0, 1200, 800);
      g.fillStyle = '#ffd166';
      g.beginPath();
      g.arc(900, 220, 90, 0, Math.PI * 2);
      g.fill();
      g.fillStyle = '#2d6a4f';
      g.beginPath();
      g.moveTo(0, 800);
      g.lineTo(0, 520);
      g.quadraticCurveTo(300, 330, 600, 520);
      g.quadraticCurveTo(850, 650, 1200, 450);
      g.lineTo(1200, 800);
      g.fill();
      g.fillStyle = '#f8f9fa';
      g.fillRect(560, 380, 36, 150);
      g.fillStyle = '#d62828';
      g.fillRect(552, 360, 52, 26);
    } else {
      g.fillStyle = '#7b2cbf';
      g.fillRect(0, 0, 400, 400);
      g.fillStyle = '#ffddd2';
      g.beginPath();
      g.arc(200, 170, 90, 0, Math.PI * 2);
      g.fill();
      g.beginPath();
      g.ellipse(200, 400, 150, 120, 0, 0, Math.PI * 2);
      g.fill();
    }
    return canvas.toDataURL('image/png').split(',')[1]!;
  }, kind);
  return Buffer.from(data, 'base64');
}

test('Ada and Grace chat in a public room, through a dropped connection, in a direct conversation and on a phone', async ({
  browser,
  baseURL,
  request,
}) => {
  const ada = person('ada', 'Ada Lovelace');
  const grace = person('grace', 'Grace Hopper');
  const room = `hiking-${runId}`;
  const inRoom = `#${room}`;

  const adaContext = await browser.newContext({ baseURL, viewport: DESKTOP });
  const graceContext = await browser.newContext({ baseURL, viewport: DESKTOP });
  const adaPage = await adaContext.newPage();
  const gracePage = await graceContext.newPage();

  await test.step('the sign-in screen: its JavaScript, accessibility, screenshot', async () => {
    const firstScreen = recordScripts(adaPage);
    await adaPage.goto('/');
    await expect(adaPage.getByRole('heading', { name: 'Sign in' })).toBeVisible();
    await adaPage.waitForLoadState('load');
    const js = await firstScreen();
    console.log(
      `first screen JavaScript: ${js.files} file(s), ${kib(js.gzip)} gzipped (${kib(js.raw)} raw, ${kib(js.transfer)} transferred)`,
    );
    await expectAccessible(adaPage, 'the sign-in screen');
    await screenshot(adaPage, 'sign-in');
  });

  await test.step('Ada and Grace register', async () => {
    const afterSignIn = recordScripts(adaPage);
    await registerThroughUi(adaPage, ada);
    const js = await afterSignIn();
    console.log(`JavaScript loaded after sign-in: ${js.files} file(s), ${kib(js.gzip)} gzipped`);
    await updateProfileViaApi(request, ada, {
      bio: 'Mathematician. Writes notes longer than the papers they annotate.',
    });

    await gracePage.goto('/');
    await registerThroughUi(gracePage, grace);
  });

  await test.step('Ada creates a public room', async () => {
    await adaPage.getByRole('button', { name: 'Create a room' }).click();
    const dialog = adaPage.getByRole('dialog', { name: 'Create a room' });
    await dialog.getByLabel('Name', { exact: true }).fill(room);
    await dialog.getByLabel('Public: anyone can find and join it').check();
    await dialog.getByLabel('Topic (optional)').fill('Saturday: the coast path from the lighthouse, back by four');
    await dialog.getByRole('button', { name: 'Create room' }).click();
    await expect(dialog).toBeHidden();
    await expect(adaPage.getByRole('heading', { level: 1, name: inRoom })).toBeVisible();
    await expect(adaPage.getByText('This is the beginning of the room.')).toBeVisible();
  });

  await test.step('Grace finds the room among the public rooms and joins', async () => {
    await gracePage.getByRole('button', { name: 'Browse public rooms' }).click();
    const dialog = gracePage.getByRole('dialog', { name: 'Browse public rooms' });
    await dialog.getByLabel('Search by name').fill(room);
    await dialog.getByRole('list', { name: 'Public rooms' }).getByRole('button', { name: `Join ${room}` }).click();
    await expect(dialog).toBeHidden();
    await expect(gracePage.getByRole('heading', { level: 1, name: inRoom })).toBeVisible();
    await expect(
      gracePage.getByRole('navigation', { name: 'Your rooms' }).getByRole('link', { name: room }),
    ).toBeVisible();
  });

  const hello = 'Morning Grace! Are you still up for the hike on Saturday?';
  const answer = 'Absolutely! Shall we meet at the lighthouse car park at nine?';
  await test.step('they write to each other and each sees the other', async () => {
    await say(adaPage, inRoom, hello);
    await sees(gracePage, inRoom, hello);
    // Grace has read it: Ada sees so under her message (a read receipt).
    const adaHello = conversation(adaPage, inRoom).getByRole('article').filter({ hasText: hello });
    await expect(adaHello.getByText(`Seen by ${grace.displayName}`)).toBeVisible();
    await say(gracePage, inRoom, answer);
    await sees(adaPage, inRoom, answer);
  });

  const whileAway = [
    "Nine works. I'll bring sandwiches and a flask of tea.",
    'The forecast says sun, but I will pack a rain jacket just in case.',
  ];
  await test.step("Grace's connection drops; what Ada writes meanwhile arrives once, in order", async () => {
    await graceContext.setOffline(true);
    const lost = gracePage.getByText(/^Connection lost/);
    await expect(lost).toHaveText(/you are offline/);

    for (const text of whileAway) await say(adaPage, inRoom, text);
    for (const text of whileAway) {
      await expect(conversation(gracePage, inRoom).getByText(text, { exact: true })).toHaveCount(0);
    }

    await graceContext.setOffline(false);
    await expect(lost).toBeHidden();
    await expect(gracePage.getByText('Connecting…')).toBeHidden();
    for (const text of whileAway) await sees(gracePage, inRoom, text);
    const bodies = await conversation(gracePage, inRoom).getByRole('article').allInnerTexts();
    const order = whileAway.map((text) => bodies.findIndex((body) => body.includes(text)));
    expect(order[0], 'the messages in the order written').toBeLessThan(order[1]!);

    const reply = "Perfect. I'll bring the map and some apples for the top.";
    await say(gracePage, inRoom, reply);
    await sees(adaPage, inRoom, reply);
  });

  await test.step('Ada fixes a typo and takes a message back; Grace sees both at once', async () => {
    const typo = 'See you at the lighthuose!';
    const fixed = 'See you at the lighthouse!';
    await say(adaPage, inRoom, typo);
    await sees(gracePage, inRoom, typo);
    const id = await conversation(adaPage, inRoom)
      .getByRole('article')
      .filter({ hasText: typo })
      .getAttribute('data-message-id');
    const mine = adaPage.locator(`article[data-message-id="${id}"]`);
    await mine.hover();
    await mine.getByRole('button', { name: 'Message actions' }).click();
    await mine.getByRole('button', { name: 'Edit' }).click();
    const box = mine.getByLabel('Edit message');
    await expect(box).toHaveValue(typo);
    await box.fill(fixed);
    await expectAccessible(adaPage, 'a message being edited');
    await screenshot(adaPage, 'edit-message');
    await box.press('Enter');
    await expect(box).toBeHidden();
    await sees(gracePage, inRoom, fixed);
    const theirs = gracePage.locator(`article[data-message-id="${id}"]`);
    await expect(theirs.getByText(typo)).toHaveCount(0);
    await theirs.getByRole('button', { name: '(edited)' }).click();
    const history = gracePage.getByRole('dialog', { name: 'Edit history' });
    await expect(history.getByText(typo, { exact: true })).toBeVisible();
    await expect(history.getByText(fixed, { exact: true })).toBeVisible();
    await history.getByRole('button', { name: 'Close' }).click();

    // Grace likes the fixed message; Ada likes it too, from the chip.
    await theirs.hover();
    await theirs.getByRole('button', { name: 'Add reaction' }).click();
    await theirs.getByRole('button', { name: 'React with 👍' }).click();
    await expect(theirs.getByRole('button', { name: '👍 1 person, including you' })).toBeVisible();
    const chip = mine.getByRole('button', { name: '👍 1 person' });
    await expect(chip).toHaveAttribute('aria-pressed', 'false');
    await chip.click();
    await expect(mine.getByRole('button', { name: '👍 2 people, including you' })).toBeVisible();
    await expect(theirs.getByRole('button', { name: '👍 2 people, including you' })).toBeVisible();
    await mine.hover();
    await mine.getByRole('button', { name: 'Add reaction' }).click();
    await expectAccessible(adaPage, 'a message with reactions and the reaction picker');
    await screenshot(adaPage, 'reactions');
    await adaPage.keyboard.press('Escape');

    // Grace answers that very message; both see what the answer is about.
    await theirs.hover();
    await theirs.getByRole('button', { name: 'Reply', exact: true }).click();
    await expect(gracePage.getByRole('status').filter({ hasText: 'Replying to' })).toContainText(fixed);
    const answerText = 'Lighthouse it is. Bring the good thermos!';
    await say(gracePage, inRoom, answerText);
    const answered = conversation(adaPage, inRoom).getByRole('article').filter({ hasText: answerText });
    await expect(answered.getByRole('blockquote', { name: 'In reply to' })).toContainText(fixed);
    await expect(gracePage.getByRole('status').filter({ hasText: 'Replying to' })).toHaveCount(0);
    await screenshot(adaPage, 'reply');

    // Grace starts a thread on the plan; Ada follows it from the count under the message.
    await theirs.hover();
    await theirs.getByRole('button', { name: 'Reply in a thread' }).click();
    const graceThread = gracePage.getByRole('complementary', { name: 'Thread' });
    const inThread = 'Shall I book the café at the top for lunch?';
    await graceThread.getByRole('textbox', { name: 'Message the thread' }).fill(inThread);
    await graceThread.getByRole('textbox', { name: 'Message the thread' }).press('Enter');
    await expect(graceThread.getByText(inThread)).toBeVisible();
    await mine.getByRole('button', { name: /^1 reply/ }).click();
    const adaThread = adaPage.getByRole('complementary', { name: 'Thread' });
    await expect(adaThread.getByText(inThread)).toBeVisible();
    await expect(conversation(adaPage, inRoom).getByText(inThread)).toHaveCount(0);
    await expectAccessible(adaPage, 'a thread beside the room');
    await screenshot(adaPage, 'thread');
    await adaThread.getByRole('button', { name: 'Close the thread' }).click();
    await graceThread.getByRole('button', { name: 'Close the thread' }).click();

    const oops = 'Oops, that was meant for someone else';
    await say(adaPage, inRoom, oops);
    await sees(gracePage, inRoom, oops);
    const wrong = conversation(adaPage, inRoom).getByRole('article').filter({ hasText: oops });
    await wrong.hover();
    await wrong.getByRole('button', { name: 'Message actions' }).click();
    await wrong.getByRole('button', { name: 'Delete…' }).click();
    const confirm = adaPage.getByRole('dialog', { name: 'Delete this message?' });
    await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect(confirm).toBeHidden();
    await expect(conversation(gracePage, inRoom).getByText(oops)).toHaveCount(0);
    await expect(conversation(gracePage, inRoom).getByText('This message was deleted.')).toBeVisible();
    await expect(gracePage.getByRole('navigation', { name: 'Your rooms' }).getByText(/Oops/)).toHaveCount(0);
    // Grace, a plain member, cannot touch Ada's messages.
    await theirs.hover();
    await expect(theirs.getByRole('button', { name: 'Message actions' })).toHaveCount(0);
  });

  await test.step('the room list and the room: accessibility, screenshot', async () => {
    await expectAccessible(adaPage, 'the room list and a room');
    await screenshot(adaPage, 'room');
  });

  await test.step('Ada moderates: Grace becomes an admin, a troll is banned, the topic changes', async () => {
    const linus = person('linus', 'Linus Troll');
    const troll = await signUpViaApi(request, linus);
    const roomId = new URL(adaPage.url()).hash.replace('#/rooms/', '');
    const asTroll = { authorization: `Bearer ${troll.access_token}` };
    const joined = await request.post(`/api/rooms/${roomId}/join`, { headers: asTroll });
    expect(joined.ok(), await joined.text()).toBe(true);

    await adaPage.getByRole('button', { name: /^Members/ }).click();
    const members = adaPage.getByRole('complementary', { name: 'Members' });
    await expect(members.getByRole('button', { name: linus.displayName, exact: true })).toBeVisible();

    await members.getByRole('button', { name: `Manage ${grace.displayName}` }).click();
    await members.getByRole('button', { name: 'Make admin' }).click();
    const graceRow = members.getByRole('listitem').filter({ hasText: grace.displayName });
    await expect(graceRow.getByText('admin', { exact: true })).toBeVisible();
    // Grace's own view follows live: as an admin she now sees the room's settings.
    await expect(gracePage.getByRole('button', { name: 'Settings' })).toBeVisible();

    await members.getByRole('button', { name: `Manage ${linus.displayName}` }).click();
    await expectAccessible(adaPage, 'the members panel with its menu');
    await screenshot(adaPage, 'members');
    await members.getByRole('button', { name: 'Ban from room…' }).click();
    const ban = adaPage.getByRole('dialog', { name: `Ban ${linus.displayName}?` });
    await ban.getByLabel('7 days').check();
    await ban.getByLabel('Reason (optional)').fill('Spam in every thread');
    await ban.getByRole('button', { name: `Ban ${linus.displayName}` }).click();
    await expect(ban).toBeHidden();
    await expect(members.getByRole('button', { name: linus.displayName, exact: true })).toBeHidden();
    await expect(adaPage.getByText(`${linus.displayName} was banned from #${room}.`)).toBeVisible();
    await adaPage.getByRole('button', { name: 'Dismiss' }).click();
    const again = await request.post(`/api/rooms/${roomId}/join`, { headers: asTroll });
    expect(again.status()).toBe(403);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('banned');

    await adaPage.getByRole('button', { name: 'Settings' }).click();
    const settings = adaPage.getByRole('dialog', { name: 'Room settings' });
    await settings.getByLabel('Topic').fill('Saturday 9:00 at the lighthouse car park');
    await expectAccessible(adaPage, 'the room settings');
    await screenshot(adaPage, 'room-settings');
    await settings.getByRole('button', { name: 'Save changes' }).click();
    await expect(settings).toBeHidden();
    await expect(gracePage.getByText('Saturday 9:00 at the lighthouse car park')).toBeVisible();
    await adaPage.getByRole('button', { name: 'Close members' }).click();
  });

  const dm = 'Quick one: could you look over my notes on the Analytical Engine before Friday?';
  const dmAnswer = "Happy to! Send them over and you'll have comments by Thursday.";
  await test.step('Ada finds Grace and writes to her directly; Grace answers', async () => {
    await adaPage.getByRole('button', { name: 'New direct message' }).click();
    const dialog = adaPage.getByRole('dialog', { name: 'New direct message' });
    await dialog.getByLabel('Name or username').fill(grace.username);
    await dialog.getByRole('list', { name: 'People' }).getByRole('button', { name: new RegExp(grace.displayName) }).click();
    await expect(dialog).toBeHidden();
    await expect(adaPage.getByRole('heading', { level: 1, name: grace.displayName })).toBeVisible();
    await say(adaPage, grace.displayName, dm);

    const fromAda = gracePage
      .getByRole('navigation', { name: 'Your rooms' })
      .getByRole('link', { name: new RegExp(`^${ada.displayName}`) });
    await fromAda.click();
    await expect(gracePage.getByRole('heading', { level: 1, name: ada.displayName })).toBeVisible();
    await sees(gracePage, ada.displayName, dm);
    const adaDm = conversation(adaPage, grace.displayName).getByRole('article').filter({ hasText: dm });
    await expect(adaDm.getByText('Seen', { exact: true })).toBeVisible();
    // Grace writes: Ada sees that she does, until her message arrives.
    await gracePage.getByRole('textbox', { name: `Message ${ada.displayName}` }).fill('Happy to');
    const typingLine = adaPage.getByText('Grace is typing…');
    await expect(typingLine).toBeVisible();
    await screenshot(adaPage, 'direct-message');
    await say(gracePage, ada.displayName, dmAnswer);
    await sees(adaPage, grace.displayName, dmAnswer);
    await expect(typingLine).toBeHidden();
    // Ada sees Grace online beside their conversation.
    const adaRooms = adaPage.getByRole('navigation', { name: 'Your rooms' });
    await expect(adaRooms.getByRole('img', { name: 'Online' })).toBeVisible();
  });

  await test.step('Grace stops showing that she has read; Ada\'s next message stays without "Seen"', async () => {
    await gracePage.getByRole('button', { name: `Your profile (${grace.displayName})` }).click();
    const mine = gracePage.getByRole('dialog', { name: 'Your profile' });
    const receipts = mine.getByLabel('Show others when I have read their messages');
    await expect(receipts).toBeChecked();
    await receipts.uncheck();
    await mine.getByRole('button', { name: 'Save' }).click();
    await expect(mine).toBeHidden();
    const unseen = 'One more thing: the notes on Bernoulli numbers are in the blue folder.';
    await say(adaPage, grace.displayName, unseen);
    await sees(gracePage, ada.displayName, unseen);
    // Grace has it on screen, so it is read; receipts go out within a second when they go
    // out at all: an absence cannot be awaited, only given the time to be wrong.
    await adaPage.waitForTimeout(2_500);
    const adaUnseen = conversation(adaPage, grace.displayName).getByRole('article').filter({ hasText: unseen });
    await expect(adaUnseen.getByText('Seen', { exact: true })).toHaveCount(0);
  });

  await test.step('Grace finds where they meet by a word in it, and the result opens its room', async () => {
    await gracePage.getByRole('button', { name: 'Search messages' }).click();
    const dialog = gracePage.getByRole('dialog', { name: 'Search messages' });
    await dialog.getByLabel('Words to find').fill('lighthouse -thermos');
    const found = dialog.getByRole('list', { name: 'Messages found' });
    const meeting = found.getByRole('button').filter({ hasText: 'Shall we meet at the lighthouse car park' });
    await expect(meeting).toBeVisible();
    await expect(meeting.locator('mark')).toHaveText(['lighthouse']);
    // The exclusion holds: the reply about the thermos is not among them.
    await expect(found.getByRole('button').filter({ hasText: 'thermos' })).toHaveCount(0);
    await expectAccessible(gracePage, 'message search');
    await screenshot(gracePage, 'search');
    await meeting.click();
    await expect(dialog).toBeHidden();
    await expect(gracePage.getByRole('heading', { level: 1, name: inRoom })).toBeVisible();
  });

  await test.step('Grace mentions Ada in the room; Ada sees it in her room list, and reading clears it', async () => {
    const graceRooms = gracePage.getByRole('navigation', { name: 'Your rooms' });
    await graceRooms.getByRole('link', { name: new RegExp(`^${room}`) }).click();
    const ask = `@${ada.username} can you bring the map too?`;
    await say(gracePage, inRoom, ask);
    const adaRooms = adaPage.getByRole('navigation', { name: 'Your rooms' });
    const hiking = adaRooms.getByRole('link', { name: new RegExp(`^${room}`) });
    await expect(hiking).toHaveAccessibleName(/1 unread, 1 mentioning you/);
    await expect(hiking.getByText('@ 1')).toBeVisible();
    await screenshot(adaPage, 'unread');
    await hiking.click();
    const mentioned = conversation(adaPage, inRoom).getByRole('article').filter({ hasText: 'can you bring the map too?' });
    await expect(mentioned).toHaveClass(/mentioned/);
    await expect(hiking).not.toHaveAccessibleName(/unread/);
    // Read here, read everywhere: a reload (a fresh start from the server) shows nothing unread.
    await adaPage.getByRole('link', { name: new RegExp(`^${grace.displayName}`) }).click();
    await adaPage.reload();
    await expect(adaRooms.getByRole('link', { name: new RegExp(`^${room}`) })).toBeVisible();
    await expect(adaRooms.getByRole('link', { name: new RegExp(`^${room}`) })).not.toHaveAccessibleName(/unread/);
    await graceRooms.getByRole('link', { name: new RegExp(`^${ada.displayName}`) }).click();
    await expect(gracePage.getByRole('heading', { level: 1, name: ada.displayName })).toBeVisible();
  });

  await test.step("a sender's name opens their profile", async () => {
    await conversation(gracePage, ada.displayName)
      .getByRole('button', { name: ada.displayName, exact: true })
      .first()
      .click();
    const profile = gracePage.getByRole('dialog', { name: 'Profile', exact: true });
    await expect(profile.getByText(ada.displayName, { exact: true })).toBeVisible();
    await expect(profile.getByText(`@${ada.username}`)).toBeVisible();
    await expect(profile.getByText('Online', { exact: true })).toBeVisible();
    await expect(profile.getByText('Mathematician. Writes notes longer than the papers they annotate.')).toBeVisible();
    await expect(profile.getByRole('button', { name: 'Send a message' })).toBeVisible();
    await expectAccessible(gracePage, 'a profile');
    await screenshot(gracePage, 'profile');
    await profile.getByRole('button', { name: 'Close' }).click();
    await expect(profile).toBeHidden();
  });

  await test.step('Ada adds her picture and shares a photo and her notes; Grace sees the photo, downloads the notes, and both find it by a word', async () => {
    await adaPage.getByRole('button', { name: `Your profile (${ada.displayName})` }).click();
    const mine = adaPage.getByRole('dialog', { name: 'Your profile' });
    await mine.getByTestId('avatar-input').setInputFiles({
      name: 'ada.png',
      mimeType: 'image/png',
      buffer: await drawPicture(adaPage, 'portrait'),
    });
    await expect(mine.getByRole('button', { name: 'Change picture' })).toBeVisible();
    await expect(mine.locator('img.avatar')).toBeVisible();
    await mine.getByRole('button', { name: 'Cancel' }).click();
    await expect(mine).toBeHidden();
    const accountPicture = adaPage.getByRole('button', { name: `Your profile (${ada.displayName})` }).locator('img');
    await expect.poll(() => accountPicture.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);

    const notes = 'Route: car park, lighthouse, cliff path, summit cairn. Bring water.';
    await adaPage.getByTestId('attach-input').setInputFiles([
      { name: 'summit.png', mimeType: 'image/png', buffer: await drawPicture(adaPage, 'landscape') },
      { name: 'route-notes.txt', mimeType: 'text/plain', buffer: Buffer.from(notes) },
    ]);
    const drafts = adaPage.getByRole('list', { name: 'Files to send' });
    await expect(drafts.getByRole('listitem')).toHaveCount(2);
    await expect(drafts.getByText('Uploading…')).toHaveCount(0);
    await expect(drafts.locator('img')).toBeVisible();
    await screenshot(adaPage, 'files-draft');
    const caption = 'The view from the summit, and my route notes';
    await say(adaPage, grace.displayName, caption);
    await expect(drafts).toBeHidden();

    const shared = conversation(gracePage, ada.displayName).getByRole('article').filter({ hasText: caption });
    const photo = shared.getByRole('button', { name: 'Open the picture summit.png' }).locator('img');
    await expect(photo).toBeVisible();
    await expect.poll(() => photo.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    const downloading = gracePage.waitForEvent('download');
    await shared.getByRole('button', { name: 'Download route-notes.txt' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toBe('route-notes.txt');
    const saved = await download.createReadStream();
    const chunks: Buffer[] = [];
    for await (const chunk of saved) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe(notes);
    await expectAccessible(gracePage, 'a message with files');
    await screenshot(gracePage, 'files');

    for (const page of [adaPage, gracePage]) {
      await page.getByRole('button', { name: 'Search messages' }).click();
      const dialog = page.getByRole('dialog', { name: 'Search messages' });
      await dialog.getByLabel('Words to find').fill('summit');
      const found = dialog.getByRole('list', { name: 'Messages found' });
      await expect(found.getByRole('button').filter({ hasText: caption })).toBeVisible();
      await dialog.getByRole('button', { name: 'Close' }).click();
      await expect(dialog).toBeHidden();
    }
  });

  const phoneContext = await browser.newContext({ baseURL, viewport: PHONE, isMobile: true, hasTouch: true });
  const phone = await phoneContext.newPage();
  await test.step('on a phone: the room list, into a room and back', async () => {
    await phone.goto('/');
    await expect(phone.getByRole('heading', { name: 'Sign in' })).toBeVisible();
    const pressed = Date.now();
    await signInThroughUi(phone, grace);
    const rooms = phone.getByRole('navigation', { name: 'Your rooms' });
    const roomLink = rooms.getByRole('link', { name: new RegExp(`^${room}`) });
    await expect(roomLink).toBeVisible();
    const sinceNavigation = await phone.evaluate(() => performance.now());
    console.log(
      `first room shown after sign-in: ${Math.round(sinceNavigation)} ms after navigation (${Date.now() - pressed} ms after "Sign in" was pressed)`,
    );
    await expect(rooms.getByRole('link', { name: new RegExp(`^${ada.displayName}`) })).toBeVisible();
    await expectAccessible(phone, 'the room list on a phone');
    await screenshot(phone, 'phone-room-list');

    await roomLink.click();
    await expect(phone.getByRole('heading', { level: 1, name: inRoom })).toBeVisible();
    await expect(rooms).toBeHidden();
    await sees(phone, inRoom, hello);
    await sees(phone, inRoom, whileAway[1]!);
    await expectAccessible(phone, 'a room on a phone');
    await screenshot(phone, 'phone-room');

    await phone.getByRole('link', { name: 'Back to rooms' }).click();
    await expect(rooms).toBeVisible();
    await expect(phone.getByRole('heading', { level: 1, name: inRoom })).toBeHidden();
  });

  await test.step('a reload keeps Ada signed in; no script can read her refresh token', async () => {
    const cookies = await adaContext.cookies();
    const refresh = cookies.find((cookie) => cookie.name === 'chat_refresh');
    expect(refresh, 'the refresh cookie').toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/auth' });
    expect(await adaPage.evaluate(() => document.cookie)).not.toContain('chat_refresh');
    expect(await adaPage.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }))).toBe('{}');

    await adaPage.reload();
    await expect(adaPage.getByRole('heading', { level: 1, name: grace.displayName })).toBeVisible();
    await sees(adaPage, grace.displayName, dmAnswer);
  });

  await test.step('Grace logs out on all devices: her phone is signed out too', async () => {
    await gracePage.getByRole('button', { name: 'Log out', exact: true }).click();
    await gracePage.getByRole('button', { name: 'Log out on all devices' }).click();
    await expect(gracePage.getByRole('heading', { name: 'Sign in' })).toBeVisible();
    // The phone's socket is closed at once (session ended), and the phone signs out.
    await expect(phone.getByRole('heading', { name: 'Sign in' })).toBeVisible();
    // A reload does not bring the session back.
    await phone.reload();
    await expect(phone.getByRole('heading', { name: 'Sign in' })).toBeVisible();
    // With every device of hers gone, Ada sees Grace offline once the grace has passed.
    const lastSeen = adaPage.getByRole('navigation', { name: 'Your rooms' }).getByRole('img', { name: /^Last seen/ });
    await expect(lastSeen).toBeVisible({ timeout: 20_000 });
    await phoneContext.close();
  });

  await adaContext.close();
  await graceContext.close();
});
