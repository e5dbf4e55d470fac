import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import { Level, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { artifacts, signIn, startConsoleRig, watchPageErrors, type ConsoleRig } from "../support/console-browser.js";
import { adminPassword } from "../support/server.js";

/**
 * The console's administration, end to end in Chromium against a real
 * server: each administrative action is done on its screen and its effect
 * read back through the API; a plain user (LEVEL_USER, built-in `viewer`
 * role, EDITOR of one room) sees no error and no control they cannot use; a
 * revoked session returns to sign-in and keeps what was typed; the audit
 * screen shows names and links. One browser for the file, one context per
 * person.
 */

describe("console administration (Chromium)", () => {
  let rig: ConsoleRig;
  let adminToken: string;
  let admin: Page;
  let adminContext: BrowserContext;
  let plain: Page;
  let plainContext: BrowserContext;
  const pageErrors: string[] = [];
  const suffix = Math.random().toString(36).slice(2, 7);
  const userA = `adm-a-${suffix}`;
  const userB = `adm-b-${suffix}`;
  const plainName = `plain-${suffix}`;
  let plainPassword = "plain-password-1";
  let plainId = "";
  let userBId = "";
  const roomName = `adm-room-${suffix}`;
  let roomId = "";
  let macroId = "";
  const started = Date.now();

  const api = () => rig.server.client({ token: adminToken });
  const shot = (page: Page, name: string) => page.screenshot({ path: join(artifacts, `console-admin-${name}.png`), fullPage: true });
  const go = async (page: Page, section: string, ready: string) => {
    await page.click(`#nav-${section}`);
    await page.waitForSelector(ready);
  };
  const userNamed = async (username: string) => (await api().users.listUsers({ pageSize: 1000 })).users.find((u) => u.username === username);
  const codeOf = async (call: Promise<unknown>) => {
    try {
      await call;
      return "OK";
    } catch (err) {
      return Code[ConnectError.from(err).code];
    }
  };

  beforeAll(async () => {
    rig = await startConsoleRig();
    adminToken = await rig.server.login();
    // The plain user, their room (EDITOR), a macro in it and a user to delete, made through the API.
    plainId = (await api().users.createUser({ username: plainName, password: plainPassword, level: Level.USER, roleIds: [] })).user!.userId;
    const viewer = (await api().roles.listRoles({ pageSize: 1000 })).roles.find((r) => r.name === "viewer")!;
    await api().users.setUserRoles({ userId: plainId, roleIds: [viewer.roleId] });
    userBId = (await api().users.createUser({ username: userB, password: "user-b-password-1", level: Level.USER, roleIds: [] })).user!.userId;
    roomId = (await api().rooms.createRoom({ name: roomName })).room!.roomId;
    await api().rooms.addRoomMember({ roomId, userId: plainId, role: RoomRole.EDITOR });
    macroId = (await api().macros.updateMacros({ roomId, macros: [{ name: "tally", code: "export default function (input) { return input; }\n" }] })).macros[0]!.macroId;
    adminContext = await rig.browser.newContext({ viewport: { width: 1280, height: 900 } });
    admin = await adminContext.newPage();
    watchPageErrors(admin, pageErrors);
    plainContext = await rig.browser.newContext({ viewport: { width: 1280, height: 900 } });
    plain = await plainContext.newPage();
    watchPageErrors(plain, pageErrors);
    // A step that waits longer than this has failed: say which one, well before the test's own timeout.
    admin.setDefaultTimeout(10_000);
    plain.setDefaultTimeout(10_000);
  }, 120_000);

  afterAll(async () => {
    await rig?.close();
    console.log(`console-admin e2e: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it("a SUPERGOD signs in and has every screen in the menu", async () => {
    await admin.goto(`${rig.origin}/console/`);
    await signIn(admin, { username: "admin", password: adminPassword });
    const nav = await admin.$$eval("nav.nav a", (els) => els.map((e) => e.id));
    expect(nav).toEqual(["nav-whoami", "nav-users", "nav-roles", "nav-rooms", "nav-policies", "nav-rules", "nav-macros", "nav-audit", "nav-tenants"]);
  });

  it("users: creates one, changes their level, disables and enables, sets roles, resets the password, deletes another", async () => {
    await go(admin, "users", "#users-table");
    await admin.waitForSelector("#create-user-roles input[type=checkbox]");
    await admin.fill("#new-username", userA);
    await admin.fill("#new-password", "user-a-password-1");
    await admin.selectOption("#new-level", String(Level.USER));
    await admin.check("#create-user-roles label:has-text('viewer') input");
    await admin.click("#create-user-submit");
    await admin.waitForSelector(`#users-table [data-level="${userA}"]`);
    expect(await userNamed(userA)).toMatchObject({ level: Level.USER, roleNames: ["viewer"], disabled: false });
    const row = `#users-table tr:has([data-level="${userA}"])`;

    await admin.click(`[data-level-user="${userA}"]`);
    await admin.selectOption(`select[data-level-of="${userA}"]`, String(Level.ADMIN));
    await admin.click(`${row} button[type=submit]`);
    await admin.waitForFunction((name) => document.querySelector(`[data-level="${name}"]`)?.textContent === "ADMIN", userA);
    expect((await userNamed(userA))?.level).toBe(Level.ADMIN);

    await admin.click(`[data-toggle-user="${userA}"]`);
    await admin.waitForFunction((name) => document.querySelector(`[data-state="${name}"]`)?.textContent === "disabled", userA);
    expect((await userNamed(userA))?.disabled).toBe(true);
    expect(await codeOf(rig.server.login(userA, "user-a-password-1"))).toBe("Unauthenticated");
    await admin.click(`[data-toggle-user="${userA}"]`);
    await admin.waitForFunction((name) => document.querySelector(`[data-state="${name}"]`)?.textContent === "active", userA);
    expect((await userNamed(userA))?.disabled).toBe(false);

    await admin.click(`button[data-user="${userA}"]`);
    await admin.check(`${row} label:has-text('editor') input`);
    await admin.click(`${row} button[type=submit]`);
    await admin.waitForFunction((name) => {
      const cell = document.querySelector(`#users-table tr:has([data-level="${name}"]) .user-roles`);
      return !!cell && !cell.querySelector("form") && /editor/.test(cell.textContent ?? "");
    }, userA);
    expect((await userNamed(userA))?.roleNames.sort()).toEqual(["editor", "viewer"]);

    await admin.click(`[data-reset-user="${userA}"]`);
    await admin.fill(`input[data-password-of="${userA}"]`, "user-a-new-password-2");
    await admin.click(`${row} button[type=submit]`);
    await admin.waitForFunction((name) => document.querySelector("#users-status .notice.ok")?.textContent?.includes(`New password set for ${name}`), userA);
    expect(await codeOf(rig.server.login(userA, "user-a-password-1"))).toBe("Unauthenticated");
    expect(await rig.server.login(userA, "user-a-new-password-2")).toBeTruthy();

    await admin.click(`[data-delete-user="${userB}"]`);
    expect(await admin.textContent("#users-table .confirm")).toContain(`Delete ${userB}?`);
    await admin.click("#users-table [data-confirm=yes]");
    await admin.waitForSelector(`#users-table [data-level="${userB}"]`, { state: "detached" });
    expect(await codeOf(api().users.getUser({ userId: userBId }))).toBe("NotFound");
    // No action on oneself.
    expect(await admin.$$(`[data-delete-user="admin"], [data-level-user="admin"]`)).toHaveLength(0);
    await shot(admin, "users");
  });

  it("roles: creates one with permissions from the catalog, changes them and its default policy, deletes it", async () => {
    const roleName = `auditors-${suffix}`;
    await go(admin, "roles", "#roles-table");
    await admin.waitForSelector('#create-role-permissions input[value="audit.read"]');
    await admin.fill("#new-role-name", roleName);
    await admin.fill("#new-role-description", "reads the audit log");
    await admin.check('#create-role-permissions input[value="audit.read"]');
    await admin.check('#create-role-permissions input[value="rooms.read"]');
    await admin.click("#create-role-submit");
    await admin.waitForSelector("#create-role-status .notice.ok");
    const role = () => api().roles.listRoles({ pageSize: 1000 }).then((r) => r.roles.find((x) => x.name === roleName));
    expect((await role())?.permissions).toEqual(["audit.read", "rooms.read"]);

    // The new role opens in the editor: swap rooms.read for rules.read.
    await admin.waitForSelector('#role-permissions input[value="rooms.read"]');
    await admin.uncheck('#role-permissions input[value="rooms.read"]');
    await admin.check('#role-permissions input[value="rules.read"]');
    await admin.click("#role-permissions-save");
    await admin.waitForSelector("#role-permissions-status .notice.ok");
    expect((await role())?.permissions).toEqual(["audit.read", "rules.read"]);

    await admin.waitForSelector("#role-policy-timeout_ms");
    await admin.fill("#role-policy-timeout_ms", "700");
    await admin.click("#role-policy-save");
    await admin.waitForSelector("#role-policy-status .notice.ok");
    expect((await api().roles.getRoleDefaultPolicy({ roleId: (await role())!.roleId })).policy?.timeoutMs).toBe(700);
    await shot(admin, "roles");

    // Built-in roles cannot be deleted: they offer no Delete.
    expect(await admin.$$('[data-delete-role="viewer"]')).toHaveLength(0);
    await admin.click(`[data-delete-role="${roleName}"]`);
    expect(await admin.textContent("#roles-table .confirm")).toContain(`Delete role ${roleName}? Nobody holds it.`);
    await admin.click("#roles-table [data-confirm=yes]");
    await admin.waitForFunction((name) => !Array.from(document.querySelectorAll("#roles-table .role-name")).some((e) => e.textContent === name), roleName);
    expect(await role()).toBeUndefined();
  });

  it("tenants: a SUPERGOD lists and creates one, whose first admin can sign in", async () => {
    const tenant = `tenant-${suffix}`;
    await go(admin, "tenants", "#tenants-table");
    expect(await admin.textContent("#tenants-table")).toContain("default");
    await admin.fill("#new-tenant-name", tenant);
    await admin.fill("#new-tenant-admin", "boss");
    await admin.fill("#new-tenant-password", "boss-password-1");
    await admin.click("#create-tenant-submit");
    await admin.waitForSelector("#create-tenant-status .notice.ok");
    await admin.waitForSelector(`#tenants-table td:has-text("${tenant}")`);
    expect((await api().tenants.listTenants({ pageSize: 1000 })).tenants.map((t) => t.name)).toContain(tenant);
    expect(await rig.server.login("boss", "boss-password-1", tenant)).toBeTruthy();
  });

  it("policies: edits the global, room, macro and user layers; a looser room value is refused on its field with the parent's value and layer", async () => {
    await go(admin, "policies", "#global-policy-save");
    await admin.selectOption("#policy-room", { label: roomName });
    await admin.waitForSelector("#room-policy-save");
    // Room tokens are opt-in under the global ceiling: while the global policy forbids them, a room cannot opt in.
    await admin.selectOption("#room-policy-allow_room_tokens", "true");
    await admin.click("#room-policy-save");
    await admin.waitForSelector("#room-policy-allow_room_tokens-error [role=alert]");
    const ceiling = await admin.textContent("#room-policy-allow_room_tokens-error");
    console.log(`room opting in over the ceiling: ${ceiling}`);
    expect(ceiling).toMatch(/looser than false, set by (global|default)/);
    expect((await api().policies.getRoomPolicy({ roomId })).policy?.allowRoomTokens).toBeUndefined();

    await admin.fill("#global-policy-max_host_calls", "800");
    await admin.selectOption("#global-policy-allow_room_tokens", "true");
    await admin.click("#global-policy-save");
    await expect.poll(async () => (await api().policies.getGlobalPolicy({})).policy, { timeout: 5000 }).toMatchObject({ maxHostCalls: 800, allowRoomTokens: true });

    await admin.waitForSelector("#room-policy-save");
    // The room opts in to room tokens under the global ceiling, and tightens the timeout.
    await admin.fill("#room-policy-timeout_ms", "900");
    await admin.selectOption("#room-policy-allow_room_tokens", "true");
    await admin.click("#room-policy-save");
    await expect.poll(async () => (await api().policies.getRoomPolicy({ roomId })).policy, { timeout: 5000 }).toMatchObject({ timeoutMs: 900, allowRoomTokens: true });
    // Beside each field: the effective value and the layer that set it.
    await admin.waitForFunction(() => document.querySelector('#room-policy [data-source="timeout_ms"]')?.textContent === "room");
    expect(await admin.textContent('#room-policy [data-field="max_host_calls"]')).toBe("800 global");

    // Looser than the global policy: refused inline, on that field, with the parent's value and layer.
    await admin.fill("#room-policy-max_host_calls", "5000");
    await admin.click("#room-policy-save");
    await admin.waitForSelector("#room-policy-max_host_calls-error [role=alert]");
    const refusal = await admin.textContent("#room-policy-max_host_calls-error");
    expect(refusal).toContain("800");
    expect(refusal).toContain("global");
    expect(refusal).toContain("POLICY_LOOSENS");
    expect(await admin.getAttribute("#room-policy-max_host_calls", "aria-invalid")).toBe("true");
    expect(await admin.$$("#room-policy-status .notice.error")).toHaveLength(0);
    expect((await api().policies.getRoomPolicy({ roomId })).policy?.maxHostCalls).toBeUndefined();
    await shot(admin, "policy-refused");

    // The macro layer (saved under the macro's lock, released after).
    await admin.selectOption("#policy-macro", { label: "tally" });
    await admin.waitForSelector("#macro-policy-save");
    await admin.fill("#macro-policy-max_output_bytes", "16384");
    await admin.click("#macro-policy-save");
    await expect.poll(async () => (await api().policies.getMacroPolicy({ roomId, macroId })).policy?.maxOutputBytes, { timeout: 5000 }).toBe(16384);
    await expect.poll(async () => (await api().locks.getLock({ roomId, target: `macro/${macroId}` })).lock, { timeout: 5000 }).toBeUndefined();

    // The global override ceiling, then a user override that loosens up to it and not past it, then its removal.
    await admin.click("#global-ceiling-box > summary");
    await admin.fill("#global-ceiling-max_host_calls", "2000");
    await admin.click("#global-ceiling-save");
    await expect.poll(async () => (await api().policies.getGlobalPolicy({})).policy, { timeout: 5000 }).toMatchObject({ maxHostCalls: 800, overrideCeiling: { maxHostCalls: 2000 } });
    await admin.waitForSelector("#policy-user option >> nth=1", { state: "attached" });
    await admin.selectOption("#policy-user", { label: plainName });
    await admin.waitForSelector("#user-policy-save");
    await admin.fill("#user-policy-max_host_calls", "5000");
    await admin.click("#user-policy-save");
    await admin.waitForSelector("#user-policy-max_host_calls-error [role=alert]");
    expect(await admin.textContent("#user-policy-max_host_calls-error")).toMatch(/5000 is looser than 2000, set by global\.override_ceiling/);
    expect((await api().policies.getUserPolicy({ userId: plainId })).policy).toBeUndefined();
    await admin.fill("#user-policy-max_host_calls", "1500");
    await admin.fill("#user-policy-max_runs_per_minute", "100");
    await admin.click("#user-policy-save");
    await expect.poll(async () => (await api().policies.getUserPolicy({ userId: plainId })).policy, { timeout: 5000 }).toMatchObject({ maxHostCalls: 1500, maxRunsPerMinute: 100 });
    await admin.waitForFunction(() => document.querySelector('#user-policy [data-source="max_runs_per_minute"]')?.textContent === "user");
    await shot(admin, "policies");
    await admin.click("#user-policy-delete");
    await expect.poll(async () => (await api().policies.getUserPolicy({ userId: plainId })).policy, { timeout: 5000 }).toBeUndefined();
  });

  describe("a plain user (LEVEL_USER, viewer role, EDITOR of one room)", () => {
    /** buttonsOn lists the enabled controls that act (buttons), by their text. */
    const buttonsOn = (page: Page) => page.$$eval("button:not([disabled])", (els) => els.filter((e) => (e as HTMLElement).offsetParent !== null).map((e) => e.textContent?.trim() ?? ""));
    const noErrorBox = async (page: Page) => {
      // Let every call of the screen settle first.
      await page.waitForSelector("#progress", { state: "hidden" });
      await page.waitForTimeout(300);
      expect(await page.$$eval(".notice.error, [role=alert]", (els) => els.map((e) => e.textContent))).toEqual([]);
    };

    it("sees only their screens, no error box and no control they cannot use", async () => {
      await plain.goto(`${rig.origin}/console/`);
      await signIn(plain, { username: plainName, password: plainPassword });
      expect(await plain.$$eval("nav.nav a", (els) => els.map((e) => e.id))).toEqual(["nav-whoami", "nav-rooms", "nav-policies"]);
      await noErrorBox(plain);
      expect(await buttonsOn(plain)).toEqual(["Sign out", "Change password"]);

      await go(plain, "rooms", "#rooms-table");
      await noErrorBox(plain);
      expect(await plain.$$("#create-room-form")).toHaveLength(0);
      await plain.click(`button[data-room="${roomName}"]`);
      await plain.waitForSelector("#members-table");
      await noErrorBox(plain);
      expect(await plain.$$("#add-member-form")).toHaveLength(0);
      expect((await buttonsOn(plain)).sort()).toEqual(["Members", "Sign out"]);
      await shot(plain, "plain-rooms");

      await go(plain, "policies", "#global-policy-fields");
      await noErrorBox(plain);
      await plain.selectOption("#policy-room", { label: roomName });
      await plain.waitForSelector("#room-policy-fields");
      await plain.waitForSelector("#effective-policy-table");
      await noErrorBox(plain);
      // Read-only layers: no Save, no user layer, no macro list (no macros.read).
      expect(await plain.$$("#global-policy-save, #room-policy-save, #policy-user, #policy-macro")).toHaveLength(0);
      expect((await buttonsOn(plain)).sort()).toEqual(["Show effective policy", "Sign out"]);
      expect(await plain.textContent('#room-policy-fields [data-layer-value="timeout_ms"]')).toBe("900");
      await shot(plain, "plain-policies");

      // A screen asked for by its address without the permission shows "Who am I".
      await plain.goto(`${rig.origin}/console/#/users`);
      await plain.waitForSelector("#whoami");
      expect(await plain.$$("#users-view")).toHaveLength(0);
    });

    it("changes their own password; a refused change shows its reason", async () => {
      await go(plain, "whoami", "#change-password-form");
      await plain.fill("#old-password", "not-my-password-1");
      await plain.fill("#my-new-password", "plain-password-2");
      await plain.click("#change-password-submit");
      await plain.waitForSelector("#change-password-status .notice.error");
      expect(await plain.textContent("#change-password-status")).toContain("PERMISSION_DENIED");
      await plain.fill("#old-password", plainPassword);
      await plain.fill("#my-new-password", "plain-password-2");
      await plain.click("#change-password-submit");
      await plain.waitForSelector("#change-password-status .notice.ok");
      plainPassword = "plain-password-2";
      expect(await rig.server.login(plainName, plainPassword)).toBeTruthy();
    });

    it("a revoked session returns to sign-in with a message and keeps what was typed", async () => {
      await plain.fill("#old-password", "typed-before-the-end");
      await plain.fill("#my-new-password", "kept-across-sign-in-3");
      // An admin resets the password: every session of the user ends.
      plainPassword = "plain-password-4";
      const reset = await api().users.resetUserPassword({ userId: plainId, newPassword: plainPassword });
      expect(reset.sessionsRevoked).toBeGreaterThanOrEqual(1);
      await plain.click("#change-password-submit");
      await plain.waitForSelector("#login-form");
      expect(await plain.textContent("#login-status")).toContain("Your session has ended");
      await shot(plain, "session-ended");
      await signIn(plain, { username: plainName, password: plainPassword });
      expect(await plain.inputValue("#my-new-password")).toBe("kept-across-sign-in-3");
      expect(await plain.inputValue("#old-password")).toBe("typed-before-the-end");
      expect(await plain.$$("#login-form")).toHaveLength(0);
      // Opening the console on a session that has ended says so too.
      plainPassword = "plain-password-5";
      await api().users.resetUserPassword({ userId: plainId, newPassword: plainPassword });
      await plain.reload();
      await plain.waitForSelector("#login-form");
      expect(await plain.textContent("#login-status")).toContain("Your session has ended");
    });
  });

  it("a tenant ADMIN: no tenants, a read-only global policy, actions only on users below their level", async () => {
    const name = `adm-c-${suffix}`;
    const adminRole = (await api().roles.listRoles({ pageSize: 1000 })).roles.find((r) => r.name === "admin")!;
    await api().users.createUser({ username: name, password: "user-c-password-1", level: Level.ADMIN, roleIds: [adminRole.roleId] });
    const context = await rig.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    watchPageErrors(page, pageErrors);
    try {
      await page.goto(`${rig.origin}/console/`);
      await signIn(page, { username: name, password: "user-c-password-1" });
      expect(await page.$$eval("nav.nav a", (els) => els.map((e) => e.id))).toEqual(["nav-whoami", "nav-users", "nav-roles", "nav-rooms", "nav-policies", "nav-rules", "nav-macros", "nav-audit"]);

      await go(page, "users", "#users-table");
      // The SUPERGOD and a fellow ADMIN are not below them: no action; the plain user is.
      for (const above of ["admin", userA]) expect(await page.$$(`[data-level-user="${above}"], [data-delete-user="${above}"], [data-reset-user="${above}"]`)).toHaveLength(0);
      expect(await page.$$(`[data-reset-user="${plainName}"]`)).toHaveLength(1);
      expect(await page.$$eval("#new-level option", (els) => els.map((e) => e.textContent))).toEqual(["GUEST", "USER"]);

      // Rooms: a tenant ADMIN is room ADMIN everywhere, so the room policy is theirs to save; the global one is not.
      await go(page, "policies", "#global-policy-fields");
      await page.selectOption("#policy-room", { label: roomName });
      await page.waitForSelector("#room-policy-save");
      expect(await page.$$("#global-policy-save, #global-ceiling-save")).toHaveLength(0);
      expect(await page.$$eval(".notice.error, [role=alert]", (els) => els.length)).toBe(0);
    } finally {
      await context.close();
    }
  });

  it("audit: names instead of ids (id on hover), filters picked from lists, links to what a record touched", async () => {
    // The server records the username it touched (read back through the API).
    const updates = await api().audit.listAuditEvents({ action: "users.update", pageSize: 10 });
    expect(updates.events.length).toBeGreaterThan(0);
    expect(updates.events[0]!.details?.["username"]).toBe(userA);

    await go(admin, "audit", "#audit-table tbody tr");
    await admin.waitForSelector(`#audit-actor option:has-text("${plainName}")`, { state: "attached" });
    await admin.selectOption("#audit-actor", { label: plainName });
    await admin.click("#audit-search");
    await admin.waitForFunction((name) => {
      const rows = Array.from(document.querySelectorAll("#audit-table tbody tr"));
      return rows.length > 0 && rows.every((r) => r.querySelector(".actor")?.textContent === name);
    }, plainName);
    expect(await admin.textContent("#audit-table")).toContain("users.change_password");

    // A deleted user is still named, from the record; the id is on hover.
    await admin.selectOption("#audit-actor", "");
    await admin.fill("#audit-action", "users.delete");
    await admin.click("#audit-search");
    await admin.waitForSelector(`#audit-table .touched[data-id="${userBId}"]`);
    expect(await admin.textContent(`#audit-table .touched[data-id="${userBId}"]`)).toBe(userB);
    expect(await admin.getAttribute(`#audit-table .touched[data-id="${userBId}"]`, "title")).toBe(userBId);

    // The room filter lists rooms by name; a policy record names its room and links to the screen.
    await admin.fill("#audit-action", "policies.update_room");
    await admin.selectOption("#audit-room", { label: roomName });
    await admin.click("#audit-search");
    await admin.waitForFunction((name) => {
      const rows = Array.from(document.querySelectorAll("#audit-table tbody tr"));
      return rows.length > 0 && rows.every((r) => r.querySelector(".room")?.textContent === name);
    }, roomName);
    await shot(admin, "audit");
    await admin.click("#audit-table a.audit-link[data-kind=room]");
    await admin.waitForSelector("#rooms-view");
    expect(new URL(admin.url()).hash).toBe("#/rooms");
  });

  // The screens' own content, below the shared top bar (whose narrow layout is the shell's concern).
  it("the administration screens hold at 390 px: their content never scrolls sideways", async () => {
    await admin.setViewportSize({ width: 390, height: 844 });
    const widths: Record<string, [number, number]> = {};
    for (const [section, ready] of [
      ["whoami", "#change-password-form"],
      ["users", "#users-table"],
      ["roles", "#roles-table"],
      ["tenants", "#tenants-table"],
      ["policies", "#room-policy-save"],
      ["audit", "#audit-table tbody tr"],
    ] as const) {
      await admin.goto(`${rig.origin}/console/#/${section}`);
      if (section === "policies") await admin.selectOption("#policy-room", { label: roomName });
      await admin.waitForSelector(ready);
      await admin.waitForSelector("#progress", { state: "hidden" });
      widths[section] = await admin.evaluate(() => {
        const view = document.getElementById("view")!;
        return [Math.max(view.getBoundingClientRect().left + view.scrollWidth, view.getBoundingClientRect().right), window.innerWidth] as [number, number];
      });
      await shot(admin, `390-${section}`);
    }
    console.log(`content right edge/innerWidth at 390 px: ${JSON.stringify(widths)}`);
    for (const [section, [scroll, inner]] of Object.entries(widths)) expect({ section, fits: scroll <= inner }).toEqual({ section, fits: true });
    await admin.setViewportSize({ width: 1280, height: 900 });
  });

  it("raised no script errors and no CSP violations", () => {
    expect(pageErrors).toEqual([]);
  });
});
