import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { TestApp } from './app';

/** Debian's Chromium, driven by playwright-core: the browser tests skip with a message without it. */
export const CHROMIUM = '/usr/bin/chromium';
export const OUT = path.join(__dirname, '..', '..', 'test-output');
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const SIZES = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'kiosk', width: 1080, height: 1920 },
  { name: 'desktop', width: 1440, height: 900 },
];
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

export interface Served {
  t: TestApp;
  server: Server;
  origin: string;
}

export async function serve(t: TestApp): Promise<Served> {
  const server = t.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  // localhost, not 127.0.0.1: browsers treat it as a secure context, so Secure __Host- cookies work over http.
  return { t, server, origin: `http://localhost:${(server.address() as AddressInfo).port}` };
}

/** A browser context with scripts on or off; any request leaving the service is refused and noted in `violations`. */
export async function newContext(browser: Browser, js: boolean, violations: string[], opts: { acceptDownloads?: boolean; viewport?: { width: number; height: number } } = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ javaScriptEnabled: js, locale: 'zh-CN', viewport: opts.viewport ?? { width: 390, height: 844 }, acceptDownloads: opts.acceptDownloads ?? false });
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname !== 'localhost') {
      violations.push(`external request: ${url.href}`);
      return route.abort();
    }
    return route.continue();
  });
  return context;
}

/** axe-core on the current page: no serious or critical violations (pages with scripts off are skipped). */
export async function checkA11y(page: Page, label: string): Promise<void> {
  const js = await page.evaluate('1').then(() => true, () => false);
  if (!js) return;
  await page.evaluate(AXE);
  const found = (await page.evaluate(
    `axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }).then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))`,
  )) as string[];
  assert.deepEqual(found, [], `axe on ${label} (${page.url()})`);
}

/** Full-page screenshots at phone, kiosk and desktop sizes, for a person to look at. */
export async function shoot(page: Page, name: string): Promise<void> {
  const before = page.viewportSize();
  for (const size of SIZES) {
    await page.setViewportSize({ width: size.width, height: size.height });
    await page.screenshot({ path: path.join(OUT, `${name}-${size.name}.png`), fullPage: true });
  }
  if (before) await page.setViewportSize(before);
}

/** A journey run twice at once, scripts on and off; a failure names which. */
export async function bothWays(journey: (js: boolean) => Promise<void>): Promise<void> {
  const outcomes = await Promise.allSettled([journey(true), journey(false)]);
  outcomes.forEach((o, i) => {
    if (o.status === 'rejected') {
      const err = o.reason as Error;
      err.message = `with JavaScript ${i === 0 ? 'on' : 'off'}: ${err.message}`;
      throw err;
    }
  });
}

/** Chromium, or a skip with the reason when it is not installed. */
export async function launchOrSkip(ctx: Mocha.Context): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    console.log(`    skipped: ${CHROMIUM} is missing (CI installs the Debian chromium package: apt-get install -y chromium)`);
    ctx.skip();
  }
  fs.mkdirSync(OUT, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** A context in Chinese at the given viewport; requests leaving the service are refused and noted. */
export function localContext(browser: Browser, js: boolean, violations: string[], viewport = { width: 390, height: 844 }): Promise<BrowserContext> {
  return newContext(browser, js, violations, { viewport });
}

/** axe, then screenshots, on a page of a journey run with JavaScript on. */
export async function at(page: Page, label: string, opts: { js: boolean; shot?: string }): Promise<void> {
  if (opts.js) await checkA11y(page, label);
  if (opts.js && opts.shot) await shoot(page, opts.shot);
}

/** A mocha test running the journey with JavaScript on and off at once (see bothWays). */
export const itBothWays = (title: string, journey: (js: boolean) => Promise<void>) =>
  it(`${title} (JavaScript on and off)`, () => bothWays(journey));
