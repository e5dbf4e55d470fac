import type { WhoAmIResponse } from "../../../gen/gatehouse/v1/auth_pb.js";
import { Level } from "../../../gen/gatehouse/v1/common_pb.js";
import { allows, type Need } from "./access.js";
import { Code } from "@connectrpc/connect";
import { createApi, failureOf, hasSessionCookie } from "./api.js";
import { h, replace } from "./dom.js";
import { collapsibleNav, createProgress, errorBox, settled, type View, type ViewContext } from "./ui.js";
import { auditView } from "./views/audit.js";
import { loginView } from "./views/login.js";
import { macrosView } from "./views/macros.js";
import { policiesView } from "./views/policies.js";
import { rolesView } from "./views/roles.js";
import { roomsView } from "./views/rooms.js";
import { rulesView } from "./views/rules.js";
import { tenantsView } from "./views/tenants.js";
import { usersView } from "./views/users.js";
import { levelName, whoAmIView } from "./views/whoami.js";

/**
 * The console's entry point: sign in (cookie session), then a shell with
 * one screen per concern, chosen by the location hash (#/users, …). Only the
 * screens the caller may use are in the menu (WhoAmI says their permissions
 * and level); a screen asked for by its address without them shows "Who am I".
 */

interface Route {
  path: string;
  title: string;
  view: (ctx: ViewContext) => View;
  /** need is what the caller must have to see the screen (nothing: everyone). */
  need?: Need;
}

const routes: readonly Route[] = [
  { path: "whoami", title: "Who am I", view: whoAmIView },
  { path: "users", title: "Users", view: usersView, need: { permission: "users.read" } },
  { path: "roles", title: "Roles", view: rolesView, need: { permission: "roles.read" } },
  { path: "rooms", title: "Rooms", view: roomsView, need: { permission: "rooms.read" } },
  { path: "policies", title: "Policies", view: policiesView, need: { permission: "policies.read" } },
  { path: "rules", title: "Rules", view: rulesView, need: { permission: "rules.read" } },
  { path: "macros", title: "Macros", view: macrosView, need: { permission: "macros.read" } },
  { path: "audit", title: "Audit", view: auditView, need: { permission: "audit.read" } },
  { path: "tenants", title: "Tenants", view: tenantsView, need: { permission: "tenants.manage", minLevel: Level.SUPERGOD } },
];

const root = document.getElementById("app")!;
const progress = createProgress(document.getElementById("progress")!, document.getElementById("progress-label")!);
let signedIn = false;
let current: View | undefined;
/** shellEl is the signed-in screen; kept (hidden) while a lost session signs in again. */
let shellEl: HTMLElement | undefined;
let shownUserId: string | undefined;
const state: ViewContext["state"] = {};

const api = createApi({
  onSessionLost: (err) => {
    if (!signedIn) return;
    signedIn = false;
    // The screen stays as it is, hidden behind the sign-in form, so what was
    // typed is still there once the same person signs in again.
    const why = err.rawMessage ? ` (${err.rawMessage})` : "";
    showLogin(`Your session has ended${why}. Sign in again to go on; what you typed is kept.`, true);
  },
});

function showLogin(message?: string, keepScreen = false): void {
  document.title = "Sign in · Gatehouse";
  const login = loginView(api, progress, () => void start(), message);
  if (keepScreen && shellEl) {
    shellEl.hidden = true;
    shellEl.setAttribute("inert", "");
    for (const old of Array.from(root.querySelectorAll(":scope > main.login"))) old.remove();
    root.append(login);
  } else {
    void current?.dispose?.();
    current = undefined;
    shellEl = undefined;
    shownUserId = undefined;
    replace(root, login);
  }
  document.getElementById("login-username")?.focus();
}

function routeOf(hash: string, ctx: Pick<ViewContext, "can" | "me">): Route {
  const path = hash.replace(/^#\/?/, "").split("?")[0];
  const route = routes.find((r) => r.path === path);
  return route && (!route.need || allows(ctx, route.need)) ? route : routes[0]!;
}

function shell(me: WhoAmIResponse): void {
  const permissions = new Set(me.permissions);
  const ctx: ViewContext = { api, me, progress, state, can: (p) => permissions.has(p) };
  const visible = routes.filter((r) => !r.need || allows(ctx, r.need));
  const nav = h("nav", { class: "nav", "aria-label": "Sections" });
  const main = h("main", { id: "view", class: "content" });
  const signOut = h("button", { type: "button", id: "logout", class: "small" }, "Sign out");
  signOut.addEventListener("click", () => {
    void progress.run("Signing out", async () => {
      await current?.dispose?.();
      current = undefined;
      signedIn = false;
      await api.auth.logout({}).catch(() => undefined);
      showLogin("Signed out.");
    }, signOut);
  });

  let rendering = 0;
  const render = async () => {
    const route = routeOf(location.hash, ctx);
    const generation = ++rendering;
    await current?.dispose?.();
    current = undefined;
    if (!signedIn) return;
    for (const a of Array.from(nav.querySelectorAll("a"))) {
      const active = a.getAttribute("href") === `#/${route.path}`;
      a.classList.toggle("active", active);
      if (active) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    document.title = `${route.title} · Gatehouse`;
    try {
      const view = route.view(ctx);
      current = view;
      // Show the screen once its first calls are answered, so it does not jump as they arrive.
      await settled();
      if (generation !== rendering) return;
      replace(main, view.el);
    } catch (err) {
      replace(main, errorBox(err, route.title));
    }
  };
  replace(nav, visible.map((r) => h("a", { href: `#/${r.path}`, id: `nav-${r.path}` }, r.title)));
  shellEl = h(
    "div",
    { class: "shell" },
    h(
      "header",
      { class: "topbar" },
      h("a", { class: "brand", href: "#/whoami" }, "Gatehouse"),
      collapsibleNav(nav),
      h("span", { class: "me" }, h("span", { id: "me-name" }, me.user?.username ?? ""), " ", h("span", { class: "badge level" }, levelName(me.level))),
      signOut,
    ),
    main,
  );
  shownUserId = me.user?.userId;
  replace(root, shellEl);
  window.onhashchange = () => void render();
  void render();
}

async function start(): Promise<void> {
  try {
    const me = await progress.run("Loading", () => api.auth.whoAmI({}));
    signedIn = true;
    if (shellEl && shownUserId !== undefined && shownUserId === me.user?.userId) {
      // The same person signed in again: back to the screen as they left it.
      for (const login of Array.from(root.querySelectorAll(":scope > main.login"))) login.remove();
      shellEl.hidden = false;
      shellEl.removeAttribute("inert");
      document.title = `${routeOf(location.hash, { me, can: (p) => me.permissions.includes(p) }).title} · Gatehouse`;
      return;
    }
    await current?.dispose?.();
    current = undefined;
    shell(me);
  } catch (err) {
    // A session cookie that no longer works (expired or revoked while the tab was closed) says so.
    const f = failureOf(err);
    showLogin(f.code === Code.Unauthenticated ? `Your session has ended${f.message ? ` (${f.message})` : ""}. Sign in again.` : undefined);
  }
}

if (hasSessionCookie()) void start();
else showLogin();
