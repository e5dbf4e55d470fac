import type { WhoAmIResponse } from "../../../gen/gatehouse/v1/auth_pb.js";
import { createApi, hasSessionCookie } from "./api.js";
import { h, replace } from "./dom.js";
import { collapsibleNav, createProgress, errorBox, settled, type View, type ViewContext } from "./ui.js";
import { auditView } from "./views/audit.js";
import { loginView } from "./views/login.js";
import { macrosView } from "./views/macros.js";
import { policiesView } from "./views/policies.js";
import { roomsView } from "./views/rooms.js";
import { rulesView } from "./views/rules.js";
import { usersView } from "./views/users.js";
import { levelName, whoAmIView } from "./views/whoami.js";

/**
 * The console's entry point: sign in (cookie session), then a shell with
 * one screen per concern, chosen by the location hash (#/users, …).
 */

const routes: ReadonlyArray<{ path: string; title: string; view: (ctx: ViewContext) => View }> = [
  { path: "whoami", title: "Who am I", view: whoAmIView },
  { path: "users", title: "Users & roles", view: usersView },
  { path: "rooms", title: "Rooms", view: roomsView },
  { path: "policies", title: "Policies", view: policiesView },
  { path: "rules", title: "Rules", view: rulesView },
  { path: "macros", title: "Macros", view: macrosView },
  { path: "audit", title: "Audit", view: auditView },
];

const root = document.getElementById("app")!;
const progress = createProgress(document.getElementById("progress")!, document.getElementById("progress-label")!);
let signedIn = false;
let current: View | undefined;
const state: ViewContext["state"] = {};

const api = createApi({
  onSessionLost: () => {
    if (!signedIn) return;
    signedIn = false;
    void current?.dispose?.();
    current = undefined;
    showLogin("Your session has ended. Sign in again.");
  },
});

function showLogin(message?: string): void {
  document.title = "Sign in · Gatehouse";
  replace(root, loginView(api, progress, () => void start(), message));
  document.getElementById("login-username")?.focus();
}

function routeOf(hash: string) {
  const path = hash.replace(/^#\/?/, "");
  return routes.find((r) => r.path === path) ?? routes[0]!;
}

function shell(me: WhoAmIResponse): void {
  const permissions = new Set(me.permissions);
  const ctx: ViewContext = { api, me, progress, state, can: (p) => permissions.has(p) };
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
    const route = routeOf(location.hash);
    const generation = ++rendering;
    await current?.dispose?.();
    current = undefined;
    if (!signedIn) return;
    for (const a of Array.from(nav.querySelectorAll("a"))) a.classList.toggle("active", a.getAttribute("href") === `#/${route.path}`);
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
  replace(nav, routes.map((r) => h("a", { href: `#/${r.path}`, id: `nav-${r.path}` }, r.title)));
  replace(
    root,
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
  window.onhashchange = () => void render();
  void render();
}

async function start(): Promise<void> {
  try {
    const me = await progress.run("Loading", () => api.auth.whoAmI({}));
    signedIn = true;
    shell(me);
  } catch {
    showLogin();
  }
}

if (hasSessionCookie()) void start();
else showLogin();
