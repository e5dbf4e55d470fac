import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { Effect, Level, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { buildConsole } from "../../src/console/build.js";
import { createUser, fixturePassword, type FixtureUser } from "../support/fixtures.js";
import { adminPassword, startTestServer, type TestServer } from "../support/server.js";

/**
 * The console's everyday operations in Debian's Chromium (playwright-core,
 * one browser for the whole file), each checked through the API: locks that
 * follow the person (read-only until "Edit", released on "Done", on leaving
 * the editor, on pagehide and on closing the tab), deletes with a
 * confirmation that names what goes, rule editing, the lock holder view and
 * breaking a lock. Then every screen at 390 px and 1280 px: a screenshot
 * (test-artifacts/console-ops/, not committed), no sideways scrolling on the
 * phone, no serious or critical axe violation (list, empty, error and
 * dialog states) and a cumulative layout shift under 0.1; and the keyboard.
 */

const chromiumPath = process.env.GATEHOUSE_CHROMIUM ?? "/usr/bin/chromium";
const shots = join(process.cwd(), "test-artifacts", "console-ops");
const chromiumFlags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const phone = { width: 390, height: 844 };
const desktop = { width: 1280, height: 900 };

/** clsProbe sums the page's layout shifts that no recent input explains (the CLS definition), from the start of the document. */
const clsProbe = `
  window.__cls = 0;
  window.__shifts = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.hadRecentInput) continue;
      window.__cls += e.value;
      window.__shifts.push({ value: e.value, nodes: (e.sources || []).map((s) => s.node && (s.node.id || s.node.className || s.node.nodeName)) });
    }
  }).observe({ type: "layout-shift", buffered: true });
`;

describe("console operations (Chromium)", () => {
  let server: TestServer;
  let adminToken: string;
  let consoleDir: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  let plain: FixtureUser;
  let roomId: string;
  let emptyRoomId: string;
  const suffix = Math.random().toString(36).slice(2, 7);
  const roomName = `ops-room-${suffix}`;
  const emptyRoomName = `ops-empty-${suffix}`;
  const pageErrors: string[] = [];
  const measured: Array<{ screen: string; width: number; cls: number; scrollWidth: number; innerWidth: number; axeSerious: number }> = [];

  const admin = () => server.client({ token: adminToken });
  const macroId = async (name: string, room = roomId) => (await admin().macros.listMacros({ roomId: room, pageSize: 1000 })).macros.find((m) => m.name === name)?.macroId;
  const lockTargets = async (room = roomId) => (await admin().locks.listLocks({ roomId: room, pageSize: 1000 })).locks.map((l) => `${l.target} ${l.ownerName}`);

  /** releasedWithin polls ListLocks until `target` is free, answering how long that took (or throwing after `ms`). */
  const releasedWithin = async (target: string, ms: number): Promise<number> => {
    const started = Date.now();
    for (;;) {
      const held = (await admin().locks.listLocks({ roomId, pageSize: 1000 })).locks.some((l) => l.target === target);
      const elapsed = Date.now() - started;
      if (!held) return elapsed;
      if (elapsed > ms) throw new Error(`${target} still locked ${elapsed} ms after leaving the editor`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const signIn = async (p: Page) => {
    await p.goto(`${origin}/console/`);
    await p.waitForSelector("#login-form");
    await p.fill("#login-username", "admin");
    await p.fill("#login-password", adminPassword);
    await p.click("#login-submit");
    await p.waitForSelector("#whoami");
  };
  /** pickByKeyboard chooses an option the way a person does (trusted key presses), so CLS treats what follows as a response to input. */
  const pickByKeyboard = async (p: Page, selector: string, label: string) => {
    await p.focus(selector);
    const [index, current] = await p.$eval(selector, (el, label) => [Array.from((el as HTMLSelectElement).options).findIndex((o) => o.label === label), (el as HTMLSelectElement).selectedIndex], label);
    for (let i = 0; i < Math.abs(index - current); i++) await p.keyboard.press(index > current ? "ArrowDown" : "ArrowUp");
    expect(await p.$eval(selector, (el) => (el as HTMLSelectElement).selectedOptions[0]?.label)).toBe(label);
  };
  const idle = (p: Page = page) => p.waitForSelector("#progress", { state: "hidden" });

  /** openMacro goes to the Macros screen, picks the room and opens a macro (read-only). */
  const openMacro = async (p: Page, name: string) => {
    await p.click("#nav-macros").catch(async () => {
      await p.click("#nav-toggle");
      await p.click("#nav-macros");
    });
    await p.waitForSelector("#macro-room");
    await p.selectOption("#macro-room", { label: roomName });
    await p.click(`button[data-macro="${name}"]`);
    await p.waitForSelector("#editor-mode:has-text('read-only')");
  };

  beforeAll(async () => {
    if (!existsSync(chromiumPath)) throw new Error(`Chromium is not installed at ${chromiumPath}: run "apt-get update && apt-get install -y chromium", or set GATEHOUSE_CHROMIUM`);
    mkdirSync(shots, { recursive: true });
    consoleDir = mkdtempSync(join(tmpdir(), "gatehouse-console-ops-"));
    await buildConsole(consoleDir);
    server = await startTestServer({ env: { GATEHOUSE_CONSOLE_DIR: consoleDir, GATEHOUSE_LOCK_MIN_TTL_SECONDS: "3" } });
    adminToken = await server.login();
    origin = `http://localhost:${server.port}`;
    plain = await createUser(server, { level: Level.USER, roles: ["editor"], prefix: "ops-editor" });

    // A room with members, macros, a repo and stored records; an empty room.
    await admin().policies.updateGlobalPolicy({ policy: { allowedHosts: { values: ["git.example.com"] }, allowedImports: { values: ["gatehouse:store", "gatehouse:log"] } } });
    roomId = (await admin().rooms.createRoom({ name: roomName })).room!.roomId;
    emptyRoomId = (await admin().rooms.createRoom({ name: emptyRoomName })).room!.roomId;
    await admin().rooms.addRoomMember({ roomId, userId: plain.id, role: RoomRole.EDITOR });
    const writer = 'import { put } from "gatehouse:store";\nexport default async function () { await put("notes", "a", 1); await put("notes", "b", 2); return true; }';
    const { macros } = await admin().macros.updateMacros({
      roomId,
      macros: [
        { name: "writer", code: writer },
        { name: "greet", code: "export default function (input) {\n  return { hello: input };\n}\n" },
        { name: "held", code: "export default function () { return 1; }\n" },
        { name: "doomed", code: "export default function () { return 2; }\n" },
      ],
    });
    await admin().macros.runMacro({ roomId, macroId: macros[0]!.macroId, input: null });
    await admin().repos.updateRepo({ roomId, url: "https://git.example.com/team/macros.git", ref: "main", path: "macros" });
    await admin().rules.createRule({ subject: `room:${roomId}`, action: "store.read", resource: `invoices-${suffix}/*`, effect: Effect.DENY, description: "ops test rule" });

    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumFlags });
    context = await browser.newContext({ viewport: desktop });
    await context.addInitScript(clsProbe);
    context.setDefaultTimeout(8000);
    page = await context.newPage();
    page.on("pageerror", (err) => pageErrors.push(String(err)));
    page.on("console", (msg) => {
      if (msg.type() === "error" && !/status of 4\d\d|status of 50\d|Failed to load resource/.test(msg.text())) pageErrors.push(msg.text());
    });
    await signIn(page);
  }, 120_000);

  afterAll(async () => {
    if (measured.length > 0) console.log(`console-ops: per screen (width, CLS, scrollWidth/innerWidth, serious+critical axe):\n${measured.map((m) => `  ${m.screen.padEnd(22)} ${String(m.width).padStart(4)} px  CLS ${m.cls.toFixed(4)}  ${m.scrollWidth}/${m.innerWidth}  axe ${m.axeSerious}`).join("\n")}`);
    await browser?.close();
    await server?.close();
    if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
  });

  describe("locks that follow the person", () => {
    it("opens a macro read-only without a lock; Edit takes it with a lease from the server's range", async () => {
      const id = (await macroId("greet"))!;
      await openMacro(page, "greet");
      expect(await page.getAttribute("#macro-code", "readonly")).not.toBeNull();
      expect(await page.isVisible("#macro-save")).toBe(false);
      expect(await lockTargets()).toEqual([]);
      // The lease box offers the server's range (GetServerInfo: 3 s on this server, up to 1800 s, default 900 s).
      const info = await admin().auth.getServerInfo({});
      await page.waitForSelector("#lock-lease[min]", { state: "attached" });
      expect(await page.$eval("#lock-lease", (el) => [(el as HTMLInputElement).min, (el as HTMLInputElement).max, (el as HTMLInputElement).value])).toEqual([
        String(info.lockLease!.minTtlSeconds),
        String(info.lockLease!.maxTtlSeconds),
        String(info.lockLease!.defaultTtlSeconds),
      ]);
      expect(await page.textContent("#lock-lease-hint")).toContain(`${info.lockLease!.minTtlSeconds}–${info.lockLease!.maxTtlSeconds} s`);

      // Out of range: refused on the spot, as the server would, and nothing is taken.
      await page.fill("#lock-lease", "2");
      await page.click("#lock-acquire");
      expect(await page.textContent("#lease-error")).toContain("from 3 to 1800");
      expect(await lockTargets()).toEqual([]);

      await page.fill("#lock-lease", "900");
      await page.click("#lock-acquire");
      await page.waitForSelector("#editor-mode:has-text('editing')");
      expect(await page.getAttribute("#macro-code", "readonly")).toBeNull();
      expect(await page.textContent("#lock-holder")).toBe("admin");
      expect(await lockTargets()).toEqual([`macro/${id} admin`]);
    });

    it("refreshes the lease while the tab is visible, and not while it is hidden", async () => {
      const id = (await macroId("greet"))!;
      const target = `macro/${id}`;
      await page.click("#lock-release");
      await page.waitForSelector("#editor-mode:has-text('read-only')");
      await page.fill("#lock-lease", "3");
      await page.click("#lock-acquire");
      await page.waitForSelector("#lock-refreshed", { timeout: 5000 });
      const expiry = async () => (await admin().locks.getLock({ roomId, target })).lock?.expiresAt?.seconds;
      const before = await expiry();
      await expect.poll(expiry, { timeout: 4000, interval: 200 }).not.toBe(before);

      // Hidden: no refresh, so the 3 s lease runs out (as a crashed tab's would).
      await page.evaluate(() => {
        Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
        document.dispatchEvent(new Event("visibilitychange"));
      });
      const hiddenAt = Date.now();
      await expect.poll(lockTargets, { timeout: 6000, interval: 250 }).toEqual([]);
      console.log(`console-ops: a hidden tab's 3 s lease lapsed ${Date.now() - hiddenAt} ms after it was hidden`);
      // Visible again: the refresh finds the lease gone and the editor turns read-only, saying why.
      await page.evaluate(() => {
        Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
        document.dispatchEvent(new Event("visibilitychange"));
      });
      await page.waitForSelector("#editor-mode:has-text('read-only')");
      expect(await page.textContent("#editor-status")).toContain("LOCK_REQUIRED");
    });

    it("releases the lock within a second of Done, of leaving the editor, of pagehide and of closing the tab", async () => {
      const target = `macro/${await macroId("greet")}`;
      const timings: Record<string, number> = {};
      const edit = async (p: Page = page) => {
        await p.fill("#lock-lease", "900");
        await p.click("#lock-acquire");
        await p.waitForSelector("#editor-mode:has-text('editing')");
        expect((await admin().locks.getLock({ roomId, target })).lock?.ownerName).toBe("admin");
      };

      await edit();
      await page.click("#lock-release");
      timings.done = await releasedWithin(target, 1000);

      await edit();
      await page.click("#nav-rules");
      timings.navigation = await releasedWithin(target, 1000);

      // pagehide (another address in the same tab): only the keepalive fetch runs then, and the
      // server refuses a cookie call without the CSRF header, so a release proves it carried one.
      await openMacro(page, "greet");
      await edit();
      await page.goto("about:blank");
      timings.pagehide = await releasedWithin(target, 1000);

      // Closing the tab.
      const tab = await context.newPage();
      await tab.goto(`${origin}/console/#/whoami`);
      await tab.waitForSelector("#whoami");
      await openMacro(tab, "greet");
      await edit(tab);
      await tab.close();
      timings.closeTab = await releasedWithin(target, 1000);
      console.log(`console-ops: lock released after (ms): ${JSON.stringify(timings)}`);

      await page.goto(`${origin}/console/#/whoami`);
      await page.waitForSelector("#whoami");
    });
  });

  describe("deletes that say what goes", () => {
    it("deletes a macro after a confirmation naming it, its policy layer and its lock", async () => {
      await openMacro(page, "greet");
      await page.click('button[data-delete-macro="doomed"]');
      await page.waitForSelector("#delete-macro-dialog[open]");
      const what = await page.textContent("#delete-macro-what");
      expect(what).toContain("the macro doomed: version 1, 1 line of code");
      expect(what).toContain("its policy layer (empty)");
      // Cancel keeps it.
      await page.keyboard.press("Escape");
      await page.waitForSelector("#delete-macro-dialog", { state: "detached" });
      expect(await macroId("doomed")).toBeTruthy();
      await page.click('button[data-delete-macro="doomed"]');
      await page.click("#delete-macro-dialog-confirm");
      await page.waitForSelector("#delete-macro-dialog", { state: "detached" });
      await page.waitForSelector("#macros-status .notice.ok");
      expect(await macroId("doomed")).toBeUndefined();
      expect(await lockTargets()).toEqual([]);
    });

    it("refuses to delete a macro someone else is editing, naming the holder", async () => {
      const id = (await macroId("held"))!;
      await server.client({ token: plain.token }).locks.acquireLock({ roomId, target: `macro/${id}` });
      await page.click('button[data-delete-macro="held"]');
      await page.click("#delete-macro-dialog-confirm");
      await page.waitForSelector("#delete-macro-dialog .notice.error");
      expect(await page.textContent("#delete-macro-dialog .notice.error")).toContain(plain.username);
      await page.click("#delete-macro-dialog-cancel");
      expect(await macroId("held")).toBe(id);
    });

    it("deletes a repository after a confirmation saying its imported macros stay", async () => {
      await page.waitForSelector("button[data-delete-repo]");
      await page.click("button[data-delete-repo]");
      await page.waitForSelector("#delete-repo-dialog[open]");
      expect(await page.textContent("#delete-repo-what")).toBe("No macro was imported from it.");
      await page.click("#delete-repo-dialog-confirm");
      await page.waitForSelector("#repos-status .notice.ok");
      expect((await admin().repos.listRepos({ roomId })).repos).toEqual([]);
    });
  });

  describe("rules, lock holders and breaking a lock", () => {
    it("edits a rule: a refused field is marked inline, then the change is saved", async () => {
      const rule = (await admin().rules.listRules({ pageSize: 1000 })).rules.find((r) => r.description === "ops test rule")!;
      await page.click("#nav-rules");
      await page.click(`button[data-edit-rule="${rule.ruleId}"]`);
      await page.waitForSelector("#edit-rule-dialog[open]");
      await page.fill("#edit-rule-subject", "nobody-knows-this-form");
      await page.click("#edit-rule-dialog-confirm");
      await page.waitForSelector("#edit-rule-subject[aria-invalid=true]");
      expect(await page.textContent("#edit-rule-subject-error")).toBeTruthy();
      expect((await admin().rules.getRule({ ruleId: rule.ruleId })).rule?.subject).toBe(`room:${roomId}`);
      await page.fill("#edit-rule-subject", "role:viewer");
      await page.selectOption("#edit-rule-effect", String(Effect.ALLOW));
      await page.fill("#edit-rule-description", "ops test rule, edited");
      await page.click("#edit-rule-dialog-confirm");
      await page.waitForSelector("#edit-rule-dialog", { state: "detached" });
      await page.waitForSelector("#rules-status .notice.ok");
      expect((await admin().rules.getRule({ ruleId: rule.ruleId })).rule).toMatchObject({
        subject: "role:viewer",
        action: "store.read",
        resource: `invoices-${suffix}/*`,
        effect: Effect.ALLOW,
        description: "ops test rule, edited",
      });
    });

    it("shows who holds which lock in a room, and a room admin breaks one", async () => {
      const id = (await macroId("held"))!;
      await page.click("#nav-rooms");
      await page.click(`button[data-room="${roomName}"]`);
      await page.waitForSelector("#locks-table");
      const row = await page.textContent(`#locks-table tr:has(button[data-break="macro/${id}"])`);
      expect(row).toContain("macro held");
      expect(row).toContain(plain.username);
      await page.click(`button[data-break="macro/${id}"]`);
      await page.waitForSelector("#break-lock-dialog[open]");
      await page.click("#break-lock-dialog-confirm");
      await page.waitForSelector("#room-locks-status .notice.ok");
      expect((await admin().locks.getLock({ roomId, target: `macro/${id}` })).lock).toBeUndefined();
      expect(await page.textContent("#locks-table")).toContain("nothing here yet");
    });

    it("deletes a room after a confirmation with counts, and only once its name is typed", async () => {
      const doomed = (await admin().rooms.createRoom({ name: `ops-doomed-${suffix}` })).room!;
      await admin().rooms.addRoomMember({ roomId: doomed.roomId, userId: plain.id, role: RoomRole.VIEWER });
      const { macros } = await admin().macros.updateMacros({ roomId: doomed.roomId, macros: [{ name: "w", code: 'import { put } from "gatehouse:store";\nexport default async function () { await put("c", "1", 1); await put("c", "2", 2); await put("d", "1", 3); return 1; }' }] });
      await admin().macros.runMacro({ roomId: doomed.roomId, macroId: macros[0]!.macroId, input: null });
      await admin().repos.updateRepo({ roomId: doomed.roomId, url: "https://git.example.com/team/other.git", ref: "", path: "" });

      await page.click("#nav-whoami");
      await page.click("#nav-rooms");
      await page.click(`button[data-delete-room="${doomed.name}"]`);
      await page.waitForSelector("#delete-room-dialog[open]");
      expect(await page.$$eval("#delete-room-what li", (els) => els.map((e) => e.textContent))).toEqual(["2 members", "1 macro", "1 repository", "3 stored records", "its policies and locks"]);
      await page.fill("#delete-room-name", "not-the-name");
      await page.click("#delete-room-dialog-confirm");
      await page.waitForSelector("#delete-room-dialog .notice.error");
      expect((await admin().rooms.getRoom({ roomId: doomed.roomId })).room?.name).toBe(doomed.name);
      await page.fill("#delete-room-name", doomed.name);
      await page.click("#delete-room-dialog-confirm");
      await page.waitForSelector("#rooms-status .notice.ok");
      const gone = await admin().rooms.getRoom({ roomId: doomed.roomId }).then(() => "still there", (err: unknown) => ConnectError.from(err).code);
      expect(gone).toBe(Code.NotFound);
    });
  });

  describe("a plain user", () => {
    it("sees no error box and no control they cannot use on the rooms, macros and rules screens", async () => {
      // LEVEL_USER with the built-in viewer role, EDITOR of one room.
      const viewer = await createUser(server, { level: Level.USER, roles: ["viewer"], prefix: "ops-viewer" });
      await admin().rooms.addRoomMember({ roomId, userId: viewer.id, role: RoomRole.EDITOR });
      const own = await browser.newContext({ viewport: desktop });
      const p = await own.newPage();
      p.setDefaultTimeout(8000);
      p.on("pageerror", (err) => pageErrors.push(String(err)));
      try {
        await p.goto(`${origin}/console/`);
        await p.fill("#login-username", viewer.username);
        await p.fill("#login-password", fixturePassword);
        await p.click("#login-submit");
        await p.waitForSelector("#whoami");
        const errorsAndControls = () => p.$$eval(".notice.error, [data-delete-room], [data-break], [data-delete-macro], [data-delete-repo], [data-edit-rule], #create-room, #add-member-form, #create-rule, button:has-text('Remove')", (els) => els.map((e) => e.outerHTML.slice(0, 80)));

        await p.goto(`${origin}/console/#/rooms`);
        await p.waitForSelector(`button[data-room="${roomName}"]`);
        await p.click(`button[data-room="${roomName}"]`);
        await p.waitForSelector("#locks-table");
        await p.waitForSelector("#members-table");
        expect(await errorsAndControls()).toEqual([]);

        // Macros and rules: either the shell does not offer the screen (no menu entry, the address
        // leads to "Who am I"), or the screen says calmly what is missing. Never a refused call.
        await p.goto(`${origin}/console/#/macros`);
        await p.waitForSelector("#macro-room option:nth-child(2), #whoami", { state: "attached" });
        if (await p.$("#macro-room")) {
          await p.selectOption("#macro-room", { label: roomName });
          await p.waitForSelector("#macros-list .notice.info");
          expect(await p.textContent("#macros-list")).toContain("macros.read");
        } else {
          expect(await p.$("#nav-macros")).toBeNull();
        }
        expect(await errorsAndControls()).toEqual([]);

        await p.goto(`${origin}/console/#/rules`);
        await p.waitForSelector("#rules-list .notice.info, #whoami");
        if (!(await p.$("#rules-list"))) expect(await p.$("#nav-rules")).toBeNull();
        expect(await errorsAndControls()).toEqual([]);
      } finally {
        await own.close();
      }
    });
  });

  describe("phone, keyboard and accessibility", () => {
    /** Screen states to check: route, what shows it is ready, and how to reach it (after a fresh load). */
    const screens: Array<{ name: string; route: string; ready: string; axe?: false; before?: (p: Page) => Promise<void>; prepare?: (p: Page) => Promise<void> }> = [
      { name: "login", route: "", ready: "#login-form" },
      { name: "whoami", route: "whoami", ready: "#whoami" },
      { name: "users", route: "users", ready: "#users-table" },
      // The rooms list is checked by axe in rooms-detail (the same list with a room open below it).
      { name: "rooms", route: "rooms", ready: "#rooms-table", axe: false },
      {
        name: "rooms-detail",
        route: "rooms",
        ready: "#locks-table button[data-break]",
        before: async () => {
          // A lock held by someone else, so the holder list has a row (with its Break button).
          const target = `macro/${await macroId("held")}`;
          await server.client({ token: plain.token }).locks.acquireLock({ roomId, target });
        },
        prepare: async (p) => {
          await p.waitForSelector(`button[data-room="${roomName}"]`);
          await p.click(`button[data-room="${roomName}"]`);
        },
      },
      { name: "policies", route: "policies", ready: "#policy-form" },
      { name: "rules", route: "rules", ready: "#rules-table" },
      {
        name: "macros-editor",
        route: "macros",
        ready: "#editor-mode",
        prepare: async (p) => {
          await pickByKeyboard(p, "#macro-room", roomName);
          await p.click('button[data-macro="writer"]');
        },
      },
      {
        name: "macros-empty",
        route: "macros",
        ready: "#macros-table td.empty",
        prepare: async (p) => {
          await pickByKeyboard(p, "#macro-room", emptyRoomName);
        },
      },
      {
        name: "rules-error",
        route: "rules",
        ready: "#rules-list .notice.error",
        before: async (p) => {
          await p.route("**/gatehouse.v1.RulesService/ListRules", (route) =>
            route.fulfill({ status: 403, contentType: "application/json", body: JSON.stringify({ code: "permission_denied", message: "missing permission rules.read" }) }),
          );
        },
      },
      {
        name: "rooms-dialog",
        route: "rooms",
        ready: "#delete-room-dialog[open]",
        prepare: async (p) => {
          await p.waitForSelector(`button[data-delete-room="${emptyRoomName}"]`);
          await p.click(`button[data-delete-room="${emptyRoomName}"]`);
        },
      },
      { name: "audit", route: "audit", ready: "#audit-table" },
    ];

    it("every screen at 390 px and 1280 px: no sideways scroll on the phone, no serious or critical axe violation, CLS under 0.1", async () => {
      const failures: string[] = [];
      for (const viewport of [phone, desktop]) {
        await page.setViewportSize(viewport);
        for (const screen of screens) {
          if (screen.name === "login") await context.clearCookies();
          const t0 = Date.now();
          await page.goto("about:blank");
          await screen.before?.(page);
          await page.goto(`${origin}/console/${screen.route ? `#/${screen.route}` : ""}`);
          if (screen.prepare) {
            await page.waitForSelector(screen.route === "macros" ? "#macro-room option:nth-child(2)" : "#view", { state: "attached" });
            await screen.prepare(page);
          }
          await page.waitForSelector(screen.ready, { state: "attached" });
          await idle();
          await page.waitForTimeout(150); // let late shifts land
          const t1 = Date.now();
          const cls = await page.evaluate(() => (window as unknown as { __cls: number }).__cls);
          const shifts = await page.evaluate(() => (window as unknown as { __shifts: unknown[] }).__shifts);
          const [scrollWidth, innerWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
          await page.screenshot({ path: join(shots, `${screen.name}-${viewport.width}.png`), fullPage: true });
          const t2 = Date.now();
          // The accessibility pass runs on the phone layout (every state); the wide layout is the same markup.
          const serious = viewport === phone && screen.axe !== false ? (await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]).options({ resultTypes: ["violations"] }).analyze()).violations.filter((v) => v.impact === "serious" || v.impact === "critical") : [];
          console.log(`console-ops: ${screen.name} ${viewport.width} px: load ${t1 - t0} ms, screenshot ${t2 - t1} ms, axe ${Date.now() - t2} ms`);
          measured.push({ screen: screen.name, width: viewport.width, cls, scrollWidth, innerWidth, axeSerious: serious.length });
          const where = `${screen.name} at ${viewport.width} px`;
          if (viewport === phone && scrollWidth > innerWidth) failures.push(`${where}: scrollWidth ${scrollWidth} > innerWidth ${innerWidth}`);
          if (cls >= 0.02) console.log(`console-ops: ${screen.name} ${viewport.width} px shifts ${JSON.stringify(shifts)}`);
          if (cls >= 0.1) failures.push(`${where}: CLS ${cls.toFixed(3)} ${JSON.stringify(shifts)}`);
          for (const v of serious) failures.push(`${where}: axe ${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
          if (screen.name === "login") await signIn(page);
          if (screen.name === "rules-error") await page.unroute("**/gatehouse.v1.RulesService/ListRules");
        }
      }
      expect(failures).toEqual([]);
    }, 240_000);

    it("on a phone the sections fold into a menu that a keyboard opens, and Sign out stays on screen", async () => {
      await page.setViewportSize(phone);
      await page.goto("about:blank");
      await page.goto(`${origin}/console/#/whoami`);
      await page.waitForSelector("#whoami");
      expect(await page.isVisible("#nav-rooms")).toBe(false);
      const signOut = (await page.locator("#logout").boundingBox())!;
      expect(signOut.x + signOut.width).toBeLessThanOrEqual(phone.width);
      await page.focus("#nav-toggle");
      await page.keyboard.press("Enter");
      expect(await page.getAttribute("#nav-toggle", "aria-expanded")).toBe("true");
      await page.waitForSelector("#nav-rooms", { state: "visible" });
      await page.keyboard.press("Escape");
      expect(await page.getAttribute("#nav-toggle", "aria-expanded")).toBe("false");
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("nav-toggle");
      await page.keyboard.press("Enter");
      // Tab through the section links to Rooms.
      for (let i = 0; i < 12 && (await page.evaluate(() => document.activeElement?.id)) !== "nav-rooms"; i++) await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("nav-rooms");
      await page.keyboard.press("Enter");
      await page.waitForSelector("#rooms-table");
      expect(await page.isVisible("#nav-rooms")).toBe(false); // following a link folds the menu again
      await page.setViewportSize(desktop);
    });

    it("reaches every control of a screen by keyboard, each with a visible focus ring; dialogs open, trap and close by keyboard", async () => {
      await page.setViewportSize(desktop);
      await page.goto("about:blank");
      await page.goto(`${origin}/console/#/rooms`);
      await page.waitForSelector(`button[data-delete-room="${emptyRoomName}"]`);
      await idle();
      const controls = await page.$$eval("#app a[href], #app button:not([disabled]), #app input, #app select, #app textarea, #app [tabindex='0']", (els) => els.filter((e) => (e as HTMLElement).offsetParent !== null).length);
      const seen = new Set<string>();
      const unfocusable: string[] = [];
      for (let i = 0; i < controls + 5; i++) {
        await page.keyboard.press("Tab");
        const focus = await page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          if (!el || el === document.body) return null;
          const style = getComputedStyle(el);
          const key = `${el.tagName}#${el.id}[${el.getAttribute("aria-label") ?? el.textContent?.trim().slice(0, 30)}]${Array.from(el.parentElement?.children ?? []).indexOf(el)}`;
          return { key, ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2 };
        });
        if (!focus) continue;
        seen.add(focus.key);
        if (!focus.ring) unfocusable.push(focus.key);
      }
      expect(unfocusable).toEqual([]);
      expect(seen.size).toBeGreaterThanOrEqual(controls);

      // The delete dialog: opened with Enter, starts on Cancel, Escape closes it and focus returns.
      await page.focus(`button[data-delete-room="${emptyRoomName}"]`);
      await page.keyboard.press("Enter");
      await page.waitForSelector("#delete-room-dialog[open]");
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("delete-room-dialog-cancel");
      for (let i = 0; i < 6; i++) {
        await page.keyboard.press("Tab");
        expect(await page.evaluate(() => !!document.activeElement?.closest("#delete-room-dialog") || document.activeElement === document.body)).toBe(true);
      }
      await page.keyboard.press("Escape");
      await page.waitForSelector("#delete-room-dialog", { state: "detached" });
      expect(await page.evaluate(() => document.activeElement?.getAttribute("data-delete-room"))).toBe(emptyRoomName);
      expect((await admin().rooms.getRoom({ roomId: emptyRoomId })).room?.name).toBe(emptyRoomName);

      // The code box: Tab indents, Escape then Tab leaves it (no keyboard trap).
      await page.click("#nav-macros");
      await openMacro(page, "writer");
      await page.click("#lock-acquire");
      await page.waitForSelector("#editor-mode:has-text('editing')");
      await page.focus("#macro-code");
      await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("macro-code");
      await page.keyboard.press("Escape");
      await page.keyboard.press("Tab");
      expect(await page.evaluate(() => document.activeElement?.id)).not.toBe("macro-code");
      await page.click("#lock-release");
      await page.waitForSelector("#editor-mode:has-text('read-only')");
    });

    it("raised no script errors and no CSP violations", () => {
      expect(pageErrors).toEqual([]);
    });
  });
});
