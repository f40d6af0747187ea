import { existsSync } from "node:fs";
import path from "node:path";
import type { Page } from "playwright-core";
import { CONTRACT, clauseOf, plainText, type Contract } from "../contract/contract.ts";
import { DistcheckError } from "../errors/distcheck-error.ts";

/** Flags for Debian's Chromium on a machine with no outside network (see the env notes). */
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
export const CHROMIUM = "/usr/bin/chromium";

export interface BrowserCheck {
  /** Texts the report's page must show (clause stories, platforms). */
  missing: string[];
  /** Network addresses the page tried to load (refused): a published report must open offline. */
  external: string[];
  screenshot: string;
}

interface OpenReport {
  page: Page;
  external: string[];
}

/**
 * Opens a report's index.html in headless Chromium with every network request refused and recorded,
 * waits for its tree to render, runs `use`, and closes the browser.
 */
async function withReport<T>(reportDir: string, executablePath: string | undefined, use: (report: OpenReport) => Promise<T>): Promise<T> {
  const chromiumPath = executablePath ?? CHROMIUM;
  if (!existsSync(chromiumPath)) {
    throw new DistcheckError("chromium_missing", `No Chromium at ${chromiumPath}. Install Debian's: apt-get install chromium (or npm run setup-machine).`, { category: "infrastructure" });
  }
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const external: string[] = [];
    // Refused at once rather than left to the machine's network, which may drop packets and hold
    // the page's load event for a minute (it did on a CI machine while Allure's analytics tag loaded).
    await page.route(/^(https?|wss?):/, (route) => {
      external.push(route.request().url());
      return route.abort();
    });
    await page.goto(`file://${path.resolve(reportDir, "index.html")}`);
    // The report is a single-file app: wait for its tree to render, not for the network.
    await page.locator('[data-testid="tree-section"]').first().waitFor({ timeout: 60_000 });
    return await use({ page, external });
  } finally {
    await browser.close();
  }
}

/**
 * Opens a report's index.html in headless Chromium, expands its tree, and checks that every
 * expected text shows on the page; keeps a screenshot beside the report.
 */
export async function checkReportInBrowser(reportDir: string, expected: string[], options: { executablePath?: string; depth?: number } = {}): Promise<BrowserCheck> {
  return withReport(reportDir, options.executablePath, async ({ page, external }) => {
    // Two levels, epics then clause stories, reveal the cell rows; deeper would cost a click per suite and cell.
    await expandTree(page, options.depth ?? 2);
    const text = await page.locator("body").innerText();
    const missing = expected.filter((e) => !text.includes(e));
    const screenshot = path.join(reportDir, "screenshot.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    return { missing, external: [...external], screenshot };
  });
}

/** Expands the report's tree level by level (each click renders the next level's sections). */
async function expandTree(page: Page, depth: number): Promise<void> {
  const opened = new Set<string>();
  for (let round = 0; round < depth; round++) {
    const sections = page.locator('[data-testid="tree-section"]');
    const ids = await sections.evaluateAll((els) => els.map((e) => e.getAttribute("data-tree-node-id") ?? ""));
    const fresh = ids.filter((id) => id && !opened.has(id));
    if (fresh.length === 0) break;
    for (const id of fresh.slice(0, 300)) {
      opened.add(id);
      const section = page.locator(`[data-tree-node-id="${id}"]`);
      // An expanded section has its subtree rendered beside it; groups with failures open by themselves.
      const expanded = await section.evaluate((e) => (e.parentElement?.children.length ?? 0) > 1).catch(() => true);
      if (!expanded) await section.locator('> [data-testid="tree-arrow"]').click({ force: true, timeout: 5000 }).catch(() => undefined);
    }
  }
}

/** Opens one test's page; a passed test's leaf shows only once its epic, story and cell are expanded. */
async function openTest(page: Page, testName: string): Promise<void> {
  const leaf = page.locator('[data-testid="tree-leaf"]', { hasText: testName }).first();
  // Groups with failures open by themselves, shortly after the tree renders; others need clicks.
  if (!(await leaf.waitFor({ timeout: 2000 }).then(() => true, () => false))) await expandTree(page, 3);
  await leaf.click();
  await page.getByText("Overview", { exact: true }).first().waitFor({ timeout: 30_000 });
}

/** Opens one test's page in the report and returns what it shows (tabs with counts, category, ...). */
export async function inspectTestInBrowser(reportDir: string, testName: string, options: { executablePath?: string } = {}): Promise<string> {
  return withReport(reportDir, options.executablePath, async ({ page }) => {
    await openTest(page, testName);
    return await page.locator("body").innerText();
  });
}

/**
 * Opens one test's page and returns the text of its description as rendered ("" when it has none).
 * Allure's awesome report renders a description into its own iframe, so the page's text lacks it.
 */
export async function testDescriptionInBrowser(reportDir: string, testName: string, options: { executablePath?: string } = {}): Promise<string> {
  return withReport(reportDir, options.executablePath, async ({ page }) => {
    await openTest(page, testName);
    const frame = page.locator('[data-testid="test-result-description-frame"]').first();
    // The test's page has rendered (Overview): a description that is not there within seconds never comes.
    if (!(await frame.waitFor({ timeout: 5000 }).then(() => true, () => false))) return "";
    return await page.frameLocator('[data-testid="test-result-description-frame"]').first().locator("body").innerText();
  });
}

/**
 * What of its clauses' citation a test's rendered description lacks: for each clause id, the id with
 * the contract version (`WHL-03 (contract 1.0.0)`) and the clause's text from contract.json.
 */
export function missingCitations(description: string, clauseIds: string[], contract: Contract = CONTRACT): string[] {
  const expected = clauseIds.flatMap((id) => [`${id} (contract ${contract.version})`, plainText(clauseOf(id, contract)?.text ?? `${id}: no such clause in contract.json`)]);
  const seen = description.replace(/\s+/g, " ");
  return expected.filter((e) => !seen.includes(e));
}
