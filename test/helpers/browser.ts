import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium, type Page } from 'playwright-core';

/** Debian's Chromium (`.ci/run` installs it when missing); BST_CHROMIUM names another. */
export const CHROMIUM = process.env.BST_CHROMIUM ?? '/usr/bin/chromium';

export interface OpenedPage {
  page: Page;
  /** Console errors and uncaught page errors, as the browser reported them. */
  errors: string[];
  /** Every URL the page asked for (the page itself included). */
  requests: string[];
  /** A full-page screenshot beside the page, its path said in the test's diagnostics. */
  screenshot(name: string): Promise<string>;
}

/** The test's temporary folder, removed after it unless BST_KEEP_SCREENSHOTS=1 (to look at them). */
export function screenshotDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'bst-html-'));
  if (process.env.BST_KEEP_SCREENSHOTS !== '1') t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Opens an HTML file in a real Chromium (headless, closed when the test ends), recording console
 * errors and every request the page makes.
 */
export async function openInChromium(t: TestContext, file: string, dir: string): Promise<OpenedPage> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium`);
  // as root (CI containers) Chromium refuses to start without --no-sandbox
  const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  const browser = await chromium.launch({ executablePath: CHROMIUM, args });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return {
    page,
    errors,
    requests,
    screenshot: async (name) => {
      const png = join(dir, `${name}.png`);
      await page.screenshot({ path: png, fullPage: true });
      t.diagnostic(`screenshot: ${png}`);
      return png;
    },
  };
}

/** The points a chart draws, as `data-t`/`data-v` pairs, and the count the chart itself claims. */
export async function chartPoints(
  page: Page,
  chart: string,
): Promise<{ claimed: number; points: { series: string | null; t: number; v: number }[] }> {
  const svg = page.locator(`svg[data-chart="${chart}"]`);
  const claimed = Number(await svg.getAttribute('data-points'));
  const points = await svg.locator('[data-t]').evaluateAll((els) =>
    els.map((e) => ({
      series: e.getAttribute('data-series'),
      t: Number(e.getAttribute('data-t')),
      v: Number(e.getAttribute('data-v')),
    })),
  );
  return { claimed, points };
}
