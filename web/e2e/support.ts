// What the browser tests share: people and how they get in, accessibility checks, the
// screenshots for docs/, and the two figures the run prints.

import AxeBuilder from '@axe-core/playwright';
import { expect, type APIRequestContext, type Page, type Response } from '@playwright/test';
import type { Me, ProfileChanges, Session } from '@protocol';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Someone in the story. `username` is unique to the run, the rest reads well on screen. */
export interface Person {
  username: string;
  displayName: string;
  email: string;
  password: string;
}

/** A short suffix that keeps this run's accounts and rooms apart from any other run's. */
export const runId = `${Date.now().toString(36).slice(-5)}${Math.floor(Math.random() * 36).toString(36)}`;

export function person(first: string, displayName: string): Person {
  const username = `${first}_${runId}`;
  return {
    username,
    displayName,
    email: `${username}@example.com`,
    password: `correct horse ${first} battery`,
  };
}

/** Where screenshots go: docs/screenshots at the repository's root. */
export const screenshotPath = (name: string) =>
  new URL(`../../docs/screenshots/${name}.png`, import.meta.url).pathname;

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: screenshotPath(name), animations: 'disabled', caret: 'hide' });
}

/** Creates the account through the sign-in screen's "Create an account" form. */
export async function registerThroughUi(page: Page, who: Person): Promise<void> {
  await page.getByRole('button', { name: 'Create an account' }).click();
  await expect(page.getByRole('heading', { name: 'Create an account' })).toBeVisible();
  await page.getByLabel('Username', { exact: true }).fill(who.username);
  await page.getByLabel('Display name (optional)').fill(who.displayName);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('navigation', { name: 'Your rooms' })).toBeVisible();
  await expect(page.getByRole('button', { name: `Your profile (${who.displayName})` })).toBeVisible();
}

/** Signs in through the sign-in screen (the page shows it). */
export async function signInThroughUi(page: Page, who: Person): Promise<void> {
  await page.getByLabel('Username or email').fill(who.username);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Creates the account through the REST API (someone the story needs but does not follow). */
export async function signUpViaApi(api: APIRequestContext, who: Person): Promise<Session> {
  const response = await api.post('/api/auth/register', {
    data: { username: who.username, email: who.email, password: who.password, display_name: who.displayName },
  });
  expect(response.status(), await response.text()).toBe(201);
  return (await response.json()) as Session;
}

/** Changes a profile through the REST API, as its owner (state set up without the UI). */
export async function updateProfileViaApi(
  api: APIRequestContext,
  who: Person,
  changes: ProfileChanges,
): Promise<Me> {
  const login = await api.post('/api/auth/login', {
    data: { login: who.username, password: who.password },
  });
  expect(login.ok(), await login.text()).toBe(true);
  const session = (await login.json()) as Session;
  const patch = await api.patch('/api/auth/me', {
    data: changes,
    headers: { authorization: `Bearer ${session.access_token}` },
  });
  expect(patch.ok(), await patch.text()).toBe(true);
  return (await patch.json()) as Me;
}

/** Fails on any axe violation of impact serious or critical, listing each with its nodes. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(serious, `axe on ${screen}`).toEqual([]);
}

/** The scripts a page loads, recorded from now on: their sizes as served and gzipped. */
export function recordScripts(page: Page): () => Promise<{ files: number; raw: number; gzip: number; transfer: number }> {
  const scripts: Response[] = [];
  const onResponse = (response: Response) => {
    if (response.request().resourceType() === 'script' && response.ok()) scripts.push(response);
  };
  page.on('response', onResponse);
  return async () => {
    page.off('response', onResponse);
    let raw = 0;
    let gzip = 0;
    let transfer = 0;
    for (const response of scripts) {
      const body = await response.body();
      raw += body.length;
      gzip += gzipSync(body, { level: 9 }).length;
      transfer += (await response.request().sizes()).responseBodySize;
    }
    return { files: scripts.length, raw, gzip, transfer };
  };
}

export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

/**
 * The newest mail to `to` whose subject contains `subject`, as a mail client shows it
 * (quoted-printable decoded): the stack's auth service writes mail as files in
 * CHAT_MAIL_DIR (deploy/local/web-e2e.sh). Waits for it.
 */
export async function mailTo(to: string, subject: string): Promise<string> {
  const dir = process.env.CHAT_MAIL_DIR;
  if (!dir) throw new Error('CHAT_MAIL_DIR is not set (deploy/local/web-e2e.sh sets it)');
  let found = '';
  await expect
    .poll(
      () => {
        const mails = readdirSync(dir)
          .filter((name) => name.endsWith('.eml'))
          .map((name) => ({ path: join(dir, name), at: statSync(join(dir, name)).mtimeMs }))
          .sort((a, b) => b.at - a.at)
          .map(({ path }) => decodeMail(readFileSync(path, 'utf8')));
        found =
          mails.find((mail) => mail.includes(`To: ${to}`) && new RegExp(`^Subject: .*${subject}`, 'm').test(mail)) ??
          '';
        return found !== '';
      },
      { message: `a mail "${subject}" to ${to}`, timeout: 20_000 },
    )
    .toBe(true);
  return found;
}

function decodeMail(mail: string): string {
  const text = mail.replace(/\r\n/g, '\n');
  const split = text.indexOf('\n\n');
  if (split < 0 || !/^Content-Transfer-Encoding: quoted-printable$/m.test(text.slice(0, split))) return text;
  const body = text
    .slice(split + 2)
    .replace(/=\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return `${text.slice(0, split)}\n\n${body}`;
}

/** The page of the first link to `action` in a mail (`#/<action>/<token>`). */
export function linkIn(mail: string, action: string): string {
  const match = new RegExp(`/#/${action}/[A-Za-z0-9_-]+`).exec(mail);
  if (!match) throw new Error(`no ${action} link in ${mail}`);
  return match[0];
}
