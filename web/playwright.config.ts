// The browser tests of the web client (e2e/): what a person does, in Debian's Chromium,
// against a running stack (deploy/local/web-e2e.sh starts one; `make web-e2e`).
// Playwright never downloads a browser here: CHROMIUM_PATH, or the system's Chromium.

import { defineConfig } from '@playwright/test';

/** The stack under test: nginx in front of the gateways, serving the built client at /. */
const baseURL = process.env.CHAT_WEB_URL ?? 'http://127.0.0.1:26080';
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Chromium's sandbox cannot run as root (containers, CI); everywhere else it stays on. */
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export default defineConfig({
  testDir: './e2e',
  outputDir: './test-results',
  // One story per file, each needing the whole stack: one at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  // CI retries a failed story once; the run still names it as flaky (web-e2e.sh prints it).
  retries: process.env.CI ? 1 : 0,
  // A story of several people on a small machine running debug builds: generous, bounded.
  timeout: 180_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    baseURL,
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    locale: 'en-GB',
    timezoneId: 'UTC',
    colorScheme: 'light',
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath,
      args: asRoot ? ['--no-sandbox'] : [],
    },
  },
});
