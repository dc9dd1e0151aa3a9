import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { ensureTool, repoRoot } from '@emporium/harness';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Where the screenshots of every page go (ignored by git; CI may keep them). */
export const SCREENSHOTS = join(repoRoot(), 'tests', 'system', 'screenshots');

/** Headless Chromium for one suite: its tabs, each audited page, and the way to close it all. */
export interface TestBrowser {
  /** A new tab that can reach 127.0.0.1 and nothing else (a phone's screen when asked). */
  newPage(baseURL: string, phone?: boolean): Promise<Page>;
  /**
   * A screenshot of the page, nothing wider than the screen, and axe-core's audit of it: no
   * serious or critical violation.
   */
  check(page: Page, name: string): Promise<void>;
  /** Every page {@link check} audited. */
  readonly audited: readonly string[];
  close(): Promise<void>;
}

/** Starts Debian's Chromium (provisioned, pinned in tool-versions.json) headless. */
export async function launchBrowser(): Promise<TestBrowser> {
  const { bin } = await ensureTool('chromium');
  await mkdir(SCREENSHOTS, { recursive: true });
  const browser: Browser = await chromium.launch({
    executablePath: bin,
    headless: true,
    // As root (CI) Chromium's sandbox cannot start; nothing here browses the internet.
    chromiumSandbox: false,
    args: [
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  const contexts: BrowserContext[] = [];
  const audited: string[] = [];
  return {
    audited,
    async newPage(baseURL, phone = false) {
      const context = await browser.newContext({
        baseURL,
        ...(phone
          ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }
          : { viewport: { width: 1280, height: 900 } }),
      });
      contexts.push(context);
      await context.route('**/*', async (route) => {
        const url = new URL(route.request().url());
        if (url.hostname === '127.0.0.1') await route.continue();
        else await route.abort('blockedbyclient');
      });
      return context.newPage();
    },
    async check(page, name) {
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
      // On a phone-sized screen nothing may be wider than the screen.
      const overflow = Number(
        await page.evaluate(
          'document.documentElement.scrollWidth - document.documentElement.clientWidth',
        ),
      );
      assert.ok(overflow <= 0, `${name}: ${String(overflow)} px wider than the screen`);
      const { violations } = await new AxeBuilder({ page }).analyze();
      const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      assert.deepEqual(
        bad.map((v) => `${v.id} (${String(v.impact)}): ${v.nodes.map((n) => n.html).join(' | ')}`),
        [],
        `axe on ${name}`,
      );
      audited.push(name);
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
    },
  };
}
