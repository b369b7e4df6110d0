// A picture of the local stack's Prometheus (`make run PROMETHEUS=1`) graph page: sends
// per second by outcome, deliveries per second and the send-to-ack p99 over the last
// RANGE (10m), as docs/operations.md shows it after a `make loadtest` run.
//   node deploy/local/prometheus-graph.mjs [OUT]   (default docs/screenshots/prometheus-loadtest.png)
// Uses the web client's Playwright (npm ci in web/) and Debian's Chromium (CHROMIUM_PATH).
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('@playwright/test');

const out = process.argv[2] ?? new URL('../../docs/screenshots/prometheus-loadtest.png', import.meta.url).pathname;
const base = `http://127.0.0.1:${process.env.PROMETHEUS_PORT ?? 9090}`;
const range = process.env.RANGE ?? '10m';
const queries = [
  'sum by (outcome) (rate(chat_gateway_messages_sent_total{namespace="chat"}[30s]))',
  'sum by (pod) (rate(chat_gateway_deliveries_total{namespace="chat"}[30s]))',
  'histogram_quantile(0.99, sum by (le) (rate(chat_gateway_send_duration_seconds_bucket{namespace="chat"}[30s])))',
];
const params = new URLSearchParams();
queries.forEach((expr, i) => {
  params.set(`g${i}.expr`, expr);
  params.set(`g${i}.tab`, '0');
  params.set(`g${i}.range_input`, range);
  params.set(`g${i}.stacked`, '0');
  params.set(`g${i}.show_exemplars`, '0');
});

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' });
try {
  // Tall enough for the three panels: a full-page capture would scroll the fixed navbar
  // over the first one.
  const page = await browser.newPage({ viewport: { width: 1280, height: 2300 } });
  await page.goto(`${base}/graph?${params}`);
  // Every panel has drawn its graph.
  // Every panel has drawn its graph (flot canvases in newer UIs, rickshaw SVG in older).
  await page.waitForFunction(
    (n) => document.querySelectorAll('canvas.flot-base, .graph_area svg').length >= n,
    queries.length,
    { timeout: 30_000 },
  );
  await page.waitForTimeout(500);
  await page.screenshot({ path: out });
  console.log(`saved ${out}`);
} finally {
  await browser.close();
}
