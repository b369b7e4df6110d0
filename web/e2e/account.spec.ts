// Getting back in: Katherine forgets her password, asks for a link, opens it from the mail
// the server sent, chooses a new password and signs in with it; she confirms her email
// from the other mail, sees where she is signed in, and moves her account to a new address
// (her password first mistyped), confirming it from the mail sent there.

import { expect, test } from '@playwright/test';
import { expectAccessible, linkIn, mailTo, person, screenshot, signUpViaApi } from './support';

test('a forgotten password is reset from the mailed link, and the email confirmed', async ({ page, request }) => {
  const katherine = person('katherine', 'Katherine Johnson');
  await signUpViaApi(request, katherine);

  await test.step('she asks for a link from the sign-in screen', async () => {
    await page.goto('/');
    await page.getByRole('button', { name: 'Forgot your password?' }).click();
    await expect(page.getByRole('heading', { name: 'Reset your password' })).toBeVisible();
    await page.getByLabel('Username or email').fill(katherine.email);
    await page.getByRole('button', { name: 'Send the link' }).click();
    await expect(page.getByRole('status')).toContainText('If an account matches');
    await expectAccessible(page, 'the forgotten-password screen');
    await screenshot(page, 'forgot-password');
  });

  const newPassword = 'orbital mechanics by hand';
  await test.step('she opens the mailed link and chooses a new password', async () => {
    const mail = await mailTo(katherine.email, 'Reset your password');
    await page.goto(linkIn(mail, 'reset-password'));
    await expect(page.getByRole('heading', { name: 'Choose a new password' })).toBeVisible();
    await page.getByLabel('New password', { exact: true }).fill(newPassword);
    await page.getByLabel('New password again').fill('orbital mechanics by han');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await expect(page.getByText('The two passwords differ.')).toBeVisible();
    await page.getByLabel('New password again').fill(newPassword);
    await expect(page.getByText('The two passwords differ.')).toBeHidden();
    await expectAccessible(page, 'the new-password screen');
    await screenshot(page, 'reset-password');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await expect(page.getByRole('heading', { name: 'Password changed' })).toBeVisible();

    // The link works once.
    await page.reload();
    await page.getByLabel('New password', { exact: true }).fill('another one entirely');
    await page.getByLabel('New password again').fill('another one entirely');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await expect(page.getByRole('alert')).toContainText('expired or was already used');
  });

  await test.step('only the new password signs her in', async () => {
    await page.getByRole('button', { name: 'Go to sign in' }).click();
    await page.getByLabel('Username or email').fill(katherine.username);
    await page.getByLabel('Password').fill(katherine.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page.getByRole('alert')).toBeVisible();
    await page.getByLabel('Password').fill(newPassword);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page.getByRole('navigation', { name: 'Your rooms' })).toBeVisible();
  });

  await test.step('she confirms her email from the other mail and sees her devices', async () => {
    const mail = await mailTo(katherine.email, 'Confirm your email');
    await page.goto(linkIn(mail, 'verify-email'));
    await expect(page.getByRole('status')).toHaveText(`${katherine.email} is confirmed. Thank you!`);
    await page.getByRole('button', { name: 'Open the chat' }).click();
    await page.getByRole('button', { name: `Your profile (${katherine.displayName})` }).click();
    const mine = page.getByRole('dialog', { name: 'Your profile' });
    await expect(mine.getByText(`Signed in as ${katherine.email}`, { exact: true })).toBeVisible();
    const devices = mine.getByRole('region', { name: 'Signed-in devices' });
    await expect(devices.getByText('This device')).toBeVisible();
    await expectAccessible(page, 'the profile with its devices');
    await screenshot(page, 'devices');
  });

  const newEmail = `new.${katherine.email}`;
  await test.step('she changes her email with her current password and confirms the new address', async () => {
    const mine = page.getByRole('dialog', { name: 'Your profile' });
    await mine.getByRole('button', { name: 'Close', exact: true }).click();
    await expect(mine).toBeHidden();
    await page.getByRole('button', { name: `Your profile (${katherine.displayName})` }).click();
    await mine.getByRole('button', { name: 'Change email' }).click();
    const change = mine.getByRole('form', { name: 'Change your email' });
    await change.getByLabel('New email').fill(newEmail);
    // Her first password, from before the reset: no longer hers.
    await change.getByLabel('Current password').fill(katherine.password);
    await change.getByRole('button', { name: 'Change email' }).click();
    await expect(change.getByRole('alert')).toHaveText('That is not your current password.');
    // Refused, and still signed in as before.
    await expect(mine.getByText(`Signed in as ${katherine.email}`, { exact: true })).toBeVisible();
    await expectAccessible(page, 'the profile changing its email');
    await screenshot(page, 'change-email');

    await change.getByLabel('Current password').fill(newPassword);
    await change.getByRole('button', { name: 'Change email' }).click();
    await expect(change).toBeHidden();
    await expect(mine.getByRole('status').filter({ hasText: 'We mailed a confirmation link' })).toHaveText(
      `We mailed a confirmation link to ${newEmail}.`,
    );
    await expect(
      mine.getByText(`Signed in as ${newEmail} (not confirmed yet: open the link we mailed you)`, { exact: true }),
    ).toBeVisible();

    const mail = await mailTo(newEmail, 'Confirm your email');
    await page.goto(linkIn(mail, 'verify-email'));
    await expect(page.getByRole('status')).toHaveText(`${newEmail} is confirmed. Thank you!`);
  });
});
