import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { buildConsole } from "../../src/console/build.js";
import { consoleSecurityHeaders } from "../../src/http/console-assets.js";
import { adminPassword, startTestServer, type TestServer } from "../support/server.js";

/**
 * The admin console end to end, in Debian's Chromium driven by
 * playwright-core: the console is built into a folder of this test's own,
 * served by a real server (port 0, real Postgres and Redis), and used the
 * way a person would. Screenshots go to test-artifacts/ (not committed).
 */

const chromiumPath = process.env.GATEHOUSE_CHROMIUM ?? "/usr/bin/chromium";
const artifacts = join(process.cwd(), "test-artifacts");
const chromiumFlags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** rpc calls a method with Connect JSON from Node (no browser), with the given headers. */
async function rpc(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "connect-protocol-version": "1", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** startAttacker serves a bare page on 127.0.0.1 (reachable as 127.0.0.1 and as localhost, other port). */
async function startAttacker(): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.setHeader("content-type", "text/html; charset=utf-8");
    res.end("<!doctype html><title>not the console</title><p>an unrelated page</p>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("admin console (Chromium)", () => {
  let server: TestServer;
  let adminToken: string;
  let consoleDir: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let attacker: Awaited<ReturnType<typeof startAttacker>>;
  let origin: string;
  let roomId = "";
  const suffix = Math.random().toString(36).slice(2, 7);
  const newUser = `console-user-${suffix}`;
  const roomName = `console-room-${suffix}`;
  const pageErrors: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(artifacts, `console-${name}.png`), fullPage: true });
  const go = async (section: string, ready: string) => {
    await page.click(`#nav-${section}`);
    await page.waitForSelector(ready);
  };
  const roomsNamed = async (prefix: string) => {
    const res = await server.client({ token: adminToken }).rooms.listRooms({ pageSize: 1000 });
    return res.rooms.filter((r) => r.name.startsWith(prefix)).map((r) => r.name);
  };

  beforeAll(async () => {
    if (!existsSync(chromiumPath)) {
      throw new Error(`Chromium is not installed at ${chromiumPath}: run "apt-get update && apt-get install -y chromium" (.ci/run does), or set GATEHOUSE_CHROMIUM`);
    }
    mkdirSync(artifacts, { recursive: true });
    consoleDir = mkdtempSync(join(tmpdir(), "gatehouse-console-"));
    await buildConsole(consoleDir);
    server = await startTestServer({ env: { GATEHOUSE_CONSOLE_DIR: consoleDir, GATEHOUSE_LOCK_MIN_TTL_SECONDS: "3" } });
    adminToken = await server.login();
    // The console's origin is localhost (a secure context, so Secure cookies
    // work over plain http); the attacker's pages are on another port.
    origin = `http://localhost:${server.port}`;
    attacker = await startAttacker();
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumFlags });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on("pageerror", (err) => pageErrors.push(String(err)));
    page.on("console", (msg) => {
      if (msg.type() === "error" && !/status of 4\d\d|Failed to load resource/.test(msg.text())) pageErrors.push(msg.text());
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await attacker?.close();
    await server?.close();
    if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
  });

  describe("serving", () => {
    it("serves the console under /console/ with a strict CSP and the other security headers", async () => {
      const res = await fetch(`${server.baseUrl}/console/`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      for (const [name, value] of Object.entries(consoleSecurityHeaders)) expect([name, res.headers.get(name)]).toEqual([name, value]);
      const csp = res.headers.get("content-security-policy")!;
      for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"]) {
        expect(csp).toContain(directive);
      }
      const html = await res.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
      expect(html).not.toMatch(/<style|style=/); // no inline style
      const js = await fetch(`${server.baseUrl}/console/app.js`);
      expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
      expect(js.headers.get("content-security-policy")).toBe(csp);
      const again = await fetch(`${server.baseUrl}/console/app.js`, { headers: { "if-none-match": js.headers.get("etag")! } });
      expect(again.status).toBe(304);
      const bare = await fetch(`${server.baseUrl}/console`, { redirect: "manual" });
      expect([bare.status, bare.headers.get("location")]).toEqual([308, "/console/"]);
      expect((await fetch(`${server.baseUrl}/console/`, { method: "POST", body: "x" })).status).toBe(405);
    });

    it("answers 404 for anything outside the built folder, however the path is spelled", async () => {
      const raw = (path: string) =>
        new Promise<number>((resolve, reject) => {
          // node's http client sends the path as given (fetch would normalize "..").
          const req = http.request({ host: "127.0.0.1", port: server.port, path, method: "GET" }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on("error", reject);
          req.end();
        });
      for (const path of [
        "/console/../package.json",
        "/console/..%2fpackage.json",
        "/console/%2e%2e/package.json",
        "/console/..%5c..%5cpackage.json",
        "/console/.hidden",
        "/console//etc/passwd",
        "/console/app.js/../../package.json",
        "/console/build.ts",
        "/console/%00index.html",
      ]) {
        expect([path, await raw(path)]).toEqual([path, 404]);
      }
    });
  });

  describe("signed in as admin", () => {
    it("signs in with a cookie session (HttpOnly, SameSite=Strict) and shows who I am", async () => {
      await page.goto(`${origin}/console/`);
      await page.waitForSelector("#login-form");
      await shot("login");
      await page.fill("#login-tenant", "default");
      await page.fill("#login-username", "admin");
      await page.fill("#login-password", adminPassword);
      await page.click("#login-submit");
      await page.waitForSelector("#whoami");
      expect(await page.textContent("#whoami-username")).toBe("admin");
      expect(await page.textContent("#whoami-level")).toBe("SUPERGOD");
      expect(await page.textContent("#whoami-permissions")).toContain("macros.run");
      const cookies = await context.cookies(origin);
      const session = cookies.find((c) => c.name === "gh_session");
      const csrf = cookies.find((c) => c.name === "gh_csrf");
      expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", secure: true });
      expect(csrf).toMatchObject({ httpOnly: false, sameSite: "Strict", secure: true });
      // Script cannot read the session cookie; it can read the CSRF one.
      const visible = await page.evaluate(() => document.cookie);
      expect(visible).toContain("gh_csrf=");
      expect(visible).not.toContain("gh_session");
      await shot("whoami");
    });

    it("creates a user with a role, and assigns roles", async () => {
      await go("users", "#users-table");
      await page.waitForSelector("#create-user-roles input[type=checkbox]");
      await page.fill("#new-username", newUser);
      await page.fill("#new-password", "console-password-1");
      await page.selectOption("#new-level", "2");
      await page.check("#create-user-roles label:has-text('editor') input");
      await page.click("#create-user-submit");
      await page.waitForSelector(`#create-user-status .notice.ok`);
      await page.waitForSelector(`#users-table td:has-text("${newUser}")`);
      // Assign roles: add viewer to the new user.
      await page.click(`button[data-user="${newUser}"]`);
      await page.check(`#users-table tr:has-text("${newUser}") label:has-text('viewer') input`);
      await page.click(`#users-table tr:has-text("${newUser}") button[type=submit]`);
      await page.waitForFunction((name) => {
        const row = Array.from(document.querySelectorAll("#users-table tr")).find((tr) => tr.textContent?.includes(name));
        return !!row && !row.querySelector("form") && /viewer/.test(row.textContent ?? "") && /editor/.test(row.textContent ?? "");
      }, newUser);
      await shot("users");
      const users = await server.client({ token: adminToken }).users.listUsers({ pageSize: 1000 });
      expect(users.users.find((u) => u.username === newUser)?.roleNames.sort()).toEqual(["editor", "viewer"]);
    });

    it("creates a room and adds the new user as a member", async () => {
      await go("rooms", "#rooms-list");
      await page.fill("#new-room-name", roomName);
      await page.click("#create-room-submit");
      await page.waitForSelector(`#rooms-table td:has-text("${roomName}")`);
      await page.waitForSelector("#members-table");
      expect(await page.textContent("#members-table")).toContain("admin");
      await page.selectOption("#member-user", { label: newUser });
      await page.selectOption("#member-role", "2");
      await page.click("#add-member-form button[type=submit]");
      await page.waitForSelector(`#members-table td:has-text("${newUser}")`);
      await shot("rooms");
      const rooms = await server.client({ token: adminToken }).rooms.listRooms({ pageSize: 1000 });
      roomId = rooms.rooms.find((r) => r.name === roomName)!.roomId;
      expect(roomId).toBeTruthy();
    });

    it("writes a macro under the lock: a validation error with its line, the fix, save, and a run with output", async () => {
      // ReposService may not be implemented yet: the console must say so, not break.
      await page.route("**/gatehouse.v1.ReposService/ListRepos", (route) =>
        route.fulfill({ status: 501, contentType: "application/json", body: JSON.stringify({ code: "unimplemented", message: "not implemented" }) }),
      );
      await go("macros", "#macro-room");
      await page.selectOption("#macro-room", { label: roomName });
      await page.waitForSelector("#macros-table");
      expect(await page.textContent("#repos-list")).toContain("not available on this server yet");
      await page.fill("#new-macro-name", "greet");
      await page.click("#create-macro-submit");
      await page.waitForSelector("#macro-editor #lock-holder");
      // The lock: who holds it, until when, with a fencing token.
      expect(await page.textContent("#lock-holder")).toBe("admin");
      expect(await page.textContent("#lock-expires")).not.toBe("—");
      expect(Number(await page.textContent("#lock-token"))).toBeGreaterThan(0);
      const macroId = (await page.textContent("#macro-meta code"))!;
      const held = await server.client({ token: adminToken }).locks.getLock({ roomId, target: `macro/${macroId}` });
      expect(held.lock?.ownerName).toBe("admin");

      // A short lease (3 s) that the editor's timer keeps refreshing.
      await page.fill("#lock-lease", "3");
      await page.click("#lock-release");
      await page.waitForSelector("#lock-acquire");
      await page.click("#lock-acquire");
      await page.waitForSelector("#lock-release");
      await page.waitForSelector("#lock-refreshed", { timeout: 5000 });

      // A forbidden import on line 3: marked in the gutter and listed with line and column.
      await page.fill("#macro-code", 'import { log } from "gatehouse:log";\n\nimport fs from "node:fs";\nexport default function (input) { log(fs); return input; }\n');
      await page.click("#macro-validate");
      await page.waitForSelector('#violations li.violation[data-line="3"]');
      expect(await page.textContent("#violations")).toMatch(/Line 3, column \d+/);
      expect(await page.getAttribute('.gutter .ln.error', "data-line")).toBe("3");
      await shot("macro-violation");
      // Saving is refused too (AST_VIOLATION), with the same marker.
      await page.click("#macro-save");
      await page.waitForSelector("#editor-status .notice.error");
      expect(await page.textContent("#editor-status")).toContain("AST_VIOLATION");

      // The fix, after the 3 s lease would have lapsed without refreshes.
      await page.waitForTimeout(3500);
      await page.fill(
        "#macro-code",
        [
          'import { log } from "gatehouse:log";',
          "",
          "export default function (input, ctx) {",
          "  const until = Date.now() + 400;",
          "  while (Date.now() < until) {}",
          '  log("hello from", ctx.room.id);',
          '  return { greeting: "hello " + input.name };',
          "}",
          "",
        ].join("\n"),
      );
      await page.click("#macro-validate");
      await page.waitForSelector("#validation-ok");
      expect(await page.$$(".gutter .ln.error")).toHaveLength(0);
      await page.click("#macro-save");
      await page.waitForSelector("#save-ok");
      expect(await page.textContent("#save-ok")).toContain("version 2");

      // Run: the progress indicator shows while it runs, then outcome, output, logs, duration, memory.
      await page.fill("#run-input", '{ "name": "console" }');
      await Promise.all([page.waitForSelector("#progress:not([hidden])", { timeout: 5000 }), page.click("#run-submit")]);
      expect(await page.textContent("#progress-label")).toContain("Running macro");
      await page.waitForSelector("#run-outcome");
      expect(await page.textContent("#run-outcome")).toBe("OK");
      expect(JSON.parse((await page.textContent("#run-output"))!)).toEqual({ greeting: "hello console" });
      expect(await page.textContent("#run-logs")).toBe(`hello from ${roomId}`);
      expect(Number((await page.textContent("#run-duration"))!.replace(" ms", ""))).toBeGreaterThanOrEqual(300);
      expect(await page.textContent("#run-memory")).toMatch(/\d+(\.\d+)? (B|KiB|MiB)/);
      await page.waitForSelector("#progress", { state: "hidden" });
      await shot("macro-run");
      await page.unroute("**/gatehouse.v1.ReposService/ListRepos");
    });

    it("shows the effective policy with the layer that set each field", async () => {
      // One field set at each of the room, macro and user layers (through the API, as the admin).
      const admin = server.client({ token: adminToken });
      const macroId = (await admin.macros.listMacros({ roomId })).macros.find((m) => m.name === "greet")!.macroId;
      const userId = (await admin.users.listUsers({ pageSize: 1000 })).users.find((u) => u.username === newUser)!.userId;
      await admin.policies.updateRoomPolicy({ roomId, policy: { timeoutMs: 800 } });
      await admin.locks.acquireLock({ roomId, target: `macro/${macroId}` });
      await admin.policies.updateMacroPolicy({ roomId, macroId, policy: { maxOutputBytes: 32_768 } });
      await admin.locks.releaseLock({ roomId, target: `macro/${macroId}` });
      await admin.policies.updateUserPolicy({ userId, policy: { maxHostCalls: 500 } });

      await go("policies", "#policy-room");
      await page.selectOption("#policy-room", { label: roomName });
      await page.waitForSelector("#policy-macro option:has-text('greet')", { state: "attached" });
      await page.selectOption("#policy-macro", { label: "greet" });
      await page.selectOption("#policy-user", { label: newUser });
      // Policy caches are invalidated after commit across replicas and bounded
      // to one second; ask again until the answer reflects the writes above.
      const readLayers = async () => {
        await page.click("#policy-show");
        await page.waitForSelector("#effective-policy-table");
        return page.$$eval("#effective-policy-table [data-field]", (els) => Object.fromEntries(els.map((e) => [e.getAttribute("data-field"), e.textContent])));
      };
      await expect.poll(readLayers, { timeout: 3000, interval: 250 }).toMatchObject({ timeout_ms: "room", max_output_bytes: "macro", max_host_calls: "user", memory_limit_bytes: "default" });
      const values = await page.$$eval("#effective-policy-table tbody tr", (rows) => Object.fromEntries(rows.map((r) => [(r as HTMLTableRowElement).cells[0]!.textContent, (r as HTMLTableRowElement).cells[1]!.textContent])));
      expect(values).toMatchObject({ timeout_ms: "800", max_host_calls: "500" });
      expect(values.max_output_bytes).toContain("32768");
      await shot("policies");
    });

    it("dry-runs the rules, and a DENY rule it matches turns the answer", async () => {
      await go("rules", "#dry-run-form");
      await page.fill("#dry-subjects", `room:${roomId}`);
      await page.selectOption("#dry-action", "store.read");
      await page.fill("#dry-resource", `invoices-${suffix}/1`);
      await page.check("#dry-baseline");
      await page.click("#dry-run-submit");
      await page.waitForSelector("#dry-run-verdict");
      expect(await page.textContent("#dry-run-verdict")).toBe("ALLOWED");
      await page.fill("#create-rule-form input[name=subject]", `room:${roomId}`);
      await page.selectOption("#create-rule-form select[name=action]", "store.read");
      await page.fill("#create-rule-form input[name=resource]", `invoices-${suffix}/*`);
      await page.selectOption("#create-rule-form select[name=effect]", "2");
      await page.fill("#create-rule-form input[name=description]", "no invoices from the console test");
      await page.click("#create-rule-form button[type=submit]");
      await page.waitForSelector(`#rules-table td:has-text("invoices-${suffix}/*")`);
      await page.click("#dry-run-submit");
      await page.waitForFunction(() => document.querySelector("#dry-run-verdict")?.textContent === "DENIED");
      await page.waitForSelector("#rules-table code.hit");
      await shot("rules");
    });

    it("lists the audit log with filters and shows that the chain verifies", async () => {
      await go("audit", "#audit-chain-status");
      expect(await page.textContent("#audit-chain-status")).toBe("Chain verified");
      await page.waitForSelector("#audit-table tbody tr");
      await page.fill("#audit-action", "macros.run");
      await page.click("#audit-search");
      await page.waitForFunction(() => {
        const rows = Array.from(document.querySelectorAll("#audit-table tbody tr"));
        return rows.length > 0 && rows.every((r) => r.textContent?.includes("macros.run"));
      });
      await shot("audit");
    });
  });

  describe("cross-origin requests", () => {
    it("a page on another origin cannot call a mutating method with the signed-in user's cookies", async () => {
      const cookies = await context.cookies(origin);
      const session = cookies.find((c) => c.name === "gh_session")!.value;
      const csrf = cookies.find((c) => c.name === "gh_csrf")!.value;
      const prefix = `csrf-${suffix}-`;
      const victim = origin;
      const attempts: Record<string, unknown> = {};
      // Cross-site (127.0.0.1 vs localhost): SameSite=Strict keeps the cookies home.
      // Same-site, other port (localhost:other): cookies go along, but CORS and the CSRF header stop it.
      for (const attackerOrigin of [`http://127.0.0.1:${attacker.port}`, `http://localhost:${attacker.port}`]) {
        const attackerPage = await context.newPage();
        await attackerPage.goto(`${attackerOrigin}/`);
        const label = attackerOrigin.startsWith("http://127") ? "cross-site" : "same-site";
        attempts[label] = await attackerPage.evaluate(
          async ({ victim, prefix }) => {
            const out: Record<string, string> = { cookieSeen: document.cookie.includes("gh_csrf") ? "yes" : "no" };
            const url = `${victim}/gatehouse.v1.RoomsService/CreateRoom`;
            const attempt = async (key: string, init: RequestInit) => {
              try {
                const res = await fetch(url, init);
                out[key] = res.type === "opaque" ? "opaque" : `status ${res.status}`;
              } catch (err) {
                out[key] = `blocked: ${(err as Error).name}`;
              }
            };
            const json = { "content-type": "application/json", "connect-protocol-version": "1" };
            await attempt("json", { method: "POST", credentials: "include", headers: json, body: JSON.stringify({ name: `${prefix}json` }) });
            const token = /(?:^|; )gh_csrf=([^;]*)/.exec(document.cookie)?.[1] ?? "guess";
            await attempt("jsonWithCsrf", { method: "POST", credentials: "include", headers: { ...json, "x-csrf-token": token }, body: JSON.stringify({ name: `${prefix}csrf` }) });
            await attempt("simpleNoCors", { method: "POST", credentials: "include", mode: "no-cors", headers: { "content-type": "text/plain" }, body: JSON.stringify({ name: `${prefix}plain` }) });
            return out;
          },
          { victim, prefix },
        );
        // A form POST: a top-level navigation to the API (no preflight, no custom headers).
        const formRequest = attackerPage.waitForRequest((r) => r.url().endsWith("/gatehouse.v1.RoomsService/CreateRoom") && r.method() === "POST");
        await attackerPage.evaluate(
          ({ victim, prefix }) => {
            const form = document.createElement("form");
            form.method = "POST";
            form.enctype = "text/plain";
            form.action = `${victim}/gatehouse.v1.RoomsService/CreateRoom`;
            const input = document.createElement("input");
            input.name = `{"name":"${prefix}form","x":"`;
            input.value = `"}`;
            form.appendChild(input);
            document.body.appendChild(form);
            form.submit();
          },
          { victim, prefix },
        );
        const sent = await formRequest;
        const headers = await sent.allHeaders();
        const response = await sent.response();
        (attempts[label] as Record<string, string>).form = `status ${response?.status()} cookie ${/gh_session=/.test(headers.cookie ?? "") ? "sent" : "not sent"}`;
        await attackerPage.close();
      }

      expect(attempts).toEqual({
        "cross-site": {
          cookieSeen: "no",
          json: "blocked: TypeError",
          jsonWithCsrf: "blocked: TypeError",
          simpleNoCors: "opaque",
          form: "status 415 cookie not sent",
        },
        "same-site": {
          // Cookies are not isolated by port: a same-host page can read gh_csrf, but CORS refuses its preflight.
          cookieSeen: "yes",
          json: "blocked: TypeError",
          jsonWithCsrf: "blocked: TypeError",
          simpleNoCors: "opaque",
          form: "status 415 cookie sent",
        },
      });
      expect(await roomsNamed(prefix)).toEqual([]);

      // The server's own check, without a browser in the way: the cookie alone is not enough.
      const cookie = `gh_session=${session}`;
      const noCsrf = await rpc(server.baseUrl, "gatehouse.v1.RoomsService/CreateRoom", { name: `${prefix}nocsrf` }, { cookie });
      expect(noCsrf.status).toBe(403);
      expect(noCsrf.json.code).toBe("permission_denied");
      expect(JSON.stringify(noCsrf.json.details)).toContain("CSRF_REQUIRED");
      const wrongCsrf = await rpc(server.baseUrl, "gatehouse.v1.RoomsService/CreateRoom", { name: `${prefix}wrong` }, { cookie, "x-csrf-token": "x".repeat(csrf.length) });
      expect(wrongCsrf.status).toBe(403);
      expect(await roomsNamed(prefix)).toEqual([]);
      // Control: the same call with the right header succeeds, so the header is what stopped it.
      const withCsrf = await rpc(server.baseUrl, "gatehouse.v1.RoomsService/CreateRoom", { name: `${prefix}control` }, { cookie, "x-csrf-token": csrf });
      expect(withCsrf.status).toBe(200);
      expect(await roomsNamed(prefix)).toEqual([`${prefix}control`]);
    });
  });

  describe("signing out", () => {
    it("signs out, and the old session cookie no longer works", async () => {
      const session = (await context.cookies(origin)).find((c) => c.name === "gh_session")!.value;
      const whoAmI = () => rpc(server.baseUrl, "gatehouse.v1.AuthService/WhoAmI", {}, { cookie: `gh_session=${session}` });
      expect((await whoAmI()).status).toBe(200);
      await go("whoami", "#whoami");
      await page.click("#logout");
      await page.waitForSelector("#login-form");
      expect(await page.textContent("#login-status")).toContain("Signed out");
      expect((await context.cookies(origin)).map((c) => c.name)).not.toContain("gh_session");
      const after = await whoAmI();
      expect(after.status).toBe(401);
      expect(after.json.code).toBe("unauthenticated");
      // A reload shows the sign-in form again.
      await page.reload();
      await page.waitForSelector("#login-form");
      await shot("signed-out");
    });

    it("raised no script errors and no CSP violations", () => {
      expect(pageErrors).toEqual([]);
    });
  });
});
