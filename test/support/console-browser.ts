import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { buildConsole } from "../../src/console/build.js";
import { startTestServer, type TestServer } from "./server.js";

/**
 * The console's end-to-end rig, shared by the console test files: the
 * console built into a folder of the test's own, a real server serving it
 * (port 0, real PostgreSQL and Redis), and Debian's Chromium driven by
 * playwright-core. One browser per test file; one context per person.
 */

/** chromiumPath is the browser the tests drive (GATEHOUSE_CHROMIUM overrides it). */
export const chromiumPath = process.env.GATEHOUSE_CHROMIUM ?? "/usr/bin/chromium";

/** artifacts is where screenshots go (not committed). */
export const artifacts = join(process.cwd(), "test-artifacts");

/** chromiumFlags keep a headless Chromium quiet and offline. */
export const chromiumFlags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** ConsoleRig is a built console, its server and a browser. */
export interface ConsoleRig {
  server: TestServer;
  browser: Browser;
  /** origin is the console's origin (localhost: a secure context, so Secure cookies work over http). */
  origin: string;
  close(): Promise<void>;
}

/** startConsoleRig builds the console, starts a server for it and launches Chromium. */
export async function startConsoleRig(env: Record<string, string> = {}): Promise<ConsoleRig> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium is not installed at ${chromiumPath}: run "apt-get update && apt-get install -y chromium" (.ci/run does), or set GATEHOUSE_CHROMIUM`);
  }
  mkdirSync(artifacts, { recursive: true });
  const consoleDir = mkdtempSync(join(tmpdir(), "gatehouse-console-"));
  await buildConsole(consoleDir);
  const server = await startTestServer({ env: { GATEHOUSE_CONSOLE_DIR: consoleDir, ...env } });
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumFlags });
  return {
    server,
    browser,
    origin: `http://localhost:${server.port}`,
    async close() {
      await browser.close();
      await server.close();
      rmSync(consoleDir, { recursive: true, force: true });
    },
  };
}

/** watchPageErrors collects script errors and console errors (not the 4xx answers a refused call logs). */
export function watchPageErrors(page: Page, into: string[]): void {
  page.on("pageerror", (err) => into.push(String(err)));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !/status of 4\d\d|Failed to load resource/.test(msg.text())) into.push(msg.text());
  });
}

/** signIn fills the console's sign-in form and waits for the first screen. */
export async function signIn(page: Page, who: { tenant?: string; username: string; password: string }): Promise<void> {
  await page.waitForSelector("#login-form");
  await page.fill("#login-tenant", who.tenant ?? "default");
  await page.fill("#login-username", who.username);
  await page.fill("#login-password", who.password);
  await page.click("#login-submit");
  await page.waitForSelector("#whoami");
}
