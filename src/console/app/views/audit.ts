import type { JsonObject } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AuditOutcome, AuditService, type AuditEvent } from "../../../../gen/gatehouse/v1/audit_pb.js";
import { AuthService } from "../../../../gen/gatehouse/v1/auth_pb.js";
import { LocksService } from "../../../../gen/gatehouse/v1/locks_pb.js";
import { MacrosService } from "../../../../gen/gatehouse/v1/macros_pb.js";
import { PoliciesService } from "../../../../gen/gatehouse/v1/policies_pb.js";
import { ReposService } from "../../../../gen/gatehouse/v1/repos_pb.js";
import { RolesService } from "../../../../gen/gatehouse/v1/roles_pb.js";
import { RoomsService } from "../../../../gen/gatehouse/v1/rooms_pb.js";
import { RulesService } from "../../../../gen/gatehouse/v1/rules_pb.js";
import { TenantsService } from "../../../../gen/gatehouse/v1/tenants_pb.js";
import { UsersService } from "../../../../gen/gatehouse/v1/users_pb.js";
import { field, formatTime, formValues, h, replace, select, table, type Child } from "../dom.js";
import { button, errorBox, notice, section, type View, type ViewContext } from "../ui.js";

/** outcomeBadge renders an audit outcome (ALLOWED, DENIED, FAILED). */
function outcomeBadge(outcome: AuditOutcome): HTMLElement {
  const name = AuditOutcome[outcome] ?? String(outcome);
  return h("span", { class: `badge ${outcome === AuditOutcome.ALLOWED ? "allow" : outcome === AuditOutcome.DENIED ? "deny" : "warn"}` }, name);
}

/** dateOf reads a datetime-local value as a Date (undefined when empty or invalid). */
function dateOf(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * actionOf names an RPC's audit action as the server does by default
 * (`LocksService/BreakLock` → `locks.break`): the method's words in
 * snake_case without the service's own noun.
 */
function actionOf(serviceName: string, methodName: string): string {
  const service = serviceName.replace(/Service$/, "").toLowerCase();
  const singular = service.endsWith("ies") ? `${service.slice(0, -3)}y` : service.replace(/s$/, "");
  const words = (methodName.match(/[A-Z][a-z0-9]*/g) ?? [methodName]).map((w) => w.toLowerCase());
  const kept = words.filter((w) => w !== service && w !== singular);
  return `${service}.${(kept.length > 0 ? kept : words.slice(0, 1)).join("_")}`;
}

/** knownActions are the actions the filter offers before any event is loaded. */
const knownActions: readonly string[] = [
  ...new Set([
    ...[AuthService, UsersService, RolesService, RoomsService, PoliciesService, RulesService, MacrosService, ReposService, LocksService, AuditService, TenantsService].flatMap((s) =>
      s.methods.map((m) => actionOf(s.name, m.name)),
    ),
    "policies.loosen",
  ]),
].sort();

/** Directory maps ids to names for what the caller may list (users, rooms, macros, roles). */
interface Directory {
  users: Map<string, string>;
  rooms: Map<string, string>;
  macros: Map<string, { name: string; roomId: string }>;
  roles: Map<string, string>;
}

/** loadDirectory lists what the caller may read; what they may not is left empty (ids then show as ids). */
async function loadDirectory(ctx: ViewContext): Promise<Directory> {
  const { api } = ctx;
  const dir: Directory = { users: new Map(), rooms: new Map(), macros: new Map(), roles: new Map() };
  const quiet = <T,>(p: Promise<T>) => p.catch(() => undefined);
  const [users, rooms, roles] = await Promise.all([
    ctx.can("users.read") ? quiet(api.users.listUsers({ pageSize: 1000 })) : undefined,
    ctx.can("rooms.read") ? quiet(api.rooms.listRooms({ pageSize: 1000 })) : undefined,
    ctx.can("roles.read") ? quiet(api.roles.listRoles({ pageSize: 1000 })) : undefined,
  ]);
  for (const u of users?.users ?? []) dir.users.set(u.userId, u.username);
  for (const r of rooms?.rooms ?? []) dir.rooms.set(r.roomId, r.name);
  for (const r of roles?.roles ?? []) dir.roles.set(r.roleId, r.name);
  if (ctx.can("macros.read")) {
    const readable = (rooms?.rooms ?? []).filter((r) => r.myRole > 0).slice(0, 100);
    const lists = await Promise.all(readable.map((r) => quiet(api.macros.listMacros({ roomId: r.roomId, pageSize: 1000 })).then((res) => ({ roomId: r.roomId, res }))));
    for (const { roomId, res } of lists) for (const m of res?.macros ?? []) dir.macros.set(m.macroId, { name: m.name, roomId });
  }
  return dir;
}

/** text reads a string fact of a record's details. */
function text(details: JsonObject | undefined, key: string): string | undefined {
  const v = details?.[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/**
 * Touched is what a record acted on: its kind, id, the best name known (the
 * directory's, else the one the record carries, else none) and the screen
 * that shows it.
 */
interface Touched {
  kind: string;
  id: string;
  name?: string;
  route?: string;
  roomId?: string;
}

/** touchedOf reads a record's resource (`macro:<id>`, `user:<id>`, lock targets `macro/<id>`, …). */
function touchedOf(e: AuditEvent, dir: Directory): Touched[] {
  if (!e.resource) return [];
  const details = e.details;
  const macroNames = new Map<string, string>();
  const listed = details?.["macros"];
  if (Array.isArray(listed)) for (const m of listed) if (m && typeof m === "object" && !Array.isArray(m) && typeof m["id"] === "string" && typeof m["name"] === "string") macroNames.set(m["id"], m["name"]);
  return e.resource.split(",").map((part) => {
    const m = /^([a-z_]+)[:/](.+)$/.exec(part);
    if (!m) return { kind: "", id: part };
    const [, kind, id] = m as unknown as [string, string, string];
    switch (kind) {
      case "user":
        return { kind, id, name: dir.users.get(id) ?? text(details, "username") ?? (e.actorId === id ? e.actorName : undefined), route: "users" };
      case "room":
        return { kind, id, name: dir.rooms.get(id) ?? text(details, "name"), route: "rooms", roomId: id };
      case "macro":
        return { kind, id, name: dir.macros.get(id)?.name ?? macroNames.get(id) ?? text(details, "name") ?? text(details, "macroName"), route: "macros", roomId: dir.macros.get(id)?.roomId ?? e.roomId };
      case "role":
        return { kind, id, name: dir.roles.get(id) ?? text(details, "name"), route: "roles" };
      case "tenant":
        return { kind, id, name: text(details, "name"), route: "tenants" };
      case "repo":
        return { kind, id, name: text(details, "url"), route: "macros", roomId: e.roomId };
      case "policy":
        return { kind, id, name: id, route: "policies" };
      case "rule":
        return { kind, id, route: "rules" };
      default:
        return { kind, id };
    }
  });
}

/**
 * auditView lists audit events (newest first) with names instead of ids
 * (the id on hover), filters picked from lists (room, actor, action) and by
 * time, links each record to the screen of what it touched, pages through
 * them, and shows whether the tenant's hash chain verifies. Records written
 * before names were recorded, about things since deleted, show their id.
 */
export function auditView(ctx: ViewContext): View {
  const { api, progress } = ctx;
  const chain = h("div", { id: "audit-chain" });
  const results = h("div", { id: "audit-events" });
  const more = h("div");
  let pageToken = "";
  let shown: AuditEvent[] = [];
  let dir: Directory = { users: new Map(), rooms: new Map(), macros: new Map(), roles: new Map() };
  const directory = loadDirectory(ctx).then((d) => (dir = d));

  const verify = h("button", { type: "button", id: "audit-verify", class: "small" }, "Verify again");
  const runVerify = () =>
    progress.run("Verifying the audit chain", () => api.audit.verifyAuditChain({}), verify).then(
      (res) =>
        replace(
          chain,
          res.ok
            ? notice("ok", h("strong", { id: "audit-chain-status" }, "Chain verified"), ` — ${res.eventsChecked} events checked, every hash links to the one before.`)
            : notice("error", h("strong", { id: "audit-chain-status" }, "Chain BROKEN"), ` at seq ${res.firstBrokenSeq ?? "?"} (${res.eventsChecked} events checked).`),
        ),
      (err: unknown) => replace(chain, errorBox(err, "Verify audit chain")),
    );
  verify.addEventListener("click", () => void runVerify());

  const roomFilter = h("span");
  const actorFilter = h("span");
  // Picked from a list of every action, or typed: the list also takes the actions seen in loaded events.
  const actionList = h("datalist", { id: "audit-actions" }, knownActions.map((a) => h("option", { value: a })));
  const actionSel = h("input", { name: "action", id: "audit-action", list: "audit-actions", placeholder: "any action", autocomplete: "off" });
  const search = h("button", { type: "submit", class: "primary", id: "audit-search" }, "Search");
  const form = h(
    "form",
    { class: "grid-form", id: "audit-filters" },
    roomFilter,
    actorFilter,
    field("Action", actionSel),
    actionList,
    field("Since", h("input", { name: "since", type: "datetime-local", step: 1 })),
    field("Until", h("input", { name: "until", type: "datetime-local", step: 1 })),
    h("div", { class: "actions" }, search),
  );
  void directory.then((d) => {
    const byName = (m: Map<string, string>) => [...m].sort((a, b) => a[1].localeCompare(b[1]));
    replace(roomFilter, field("Room", select("roomId", [["", "any room"], ...byName(d.rooms)], "", { id: "audit-room" })));
    replace(actorFilter, field("Actor", select("actorId", [["", "anyone"], ...byName(d.users)], "", { id: "audit-actor" })));
    render();
  });

  /** named renders a name with its id on hover, or the id when no name is known. */
  const named = (name: string | undefined, id: string, cls: string): HTMLElement =>
    name ? h("span", { class: cls, title: id, "data-id": id }, name) : h("code", { class: `${cls} wrap`, title: id, "data-id": id }, id);

  /** linkTo renders what a record touched, linked to its screen when the caller has that screen. */
  const linkTo = (t: Touched): Child => {
    const label = named(t.name, t.id, "touched");
    const navLink = t.route ? document.getElementById(`nav-${t.route}`) : null;
    if (!t.route || !navLink) return [t.kind ? `${t.kind} ` : "", label];
    return h(
      "a",
      {
        href: `#/${t.route}`,
        class: "audit-link",
        "data-kind": t.kind,
        onclick: () => {
          if (t.roomId) ctx.state.roomId = t.roomId;
        },
      },
      t.kind ? `${t.kind} ` : "",
      label,
    );
  };

  const render = () =>
    replace(
      results,
      table(
        ["Seq", "Time", "Actor", "Action", "Touched", "Outcome", "Reason", "Room"],
        shown.map((e) => [
          String(e.seq),
          formatTime(e.createdAt ? timestampDate(e.createdAt) : undefined),
          e.actorId ? named(dir.users.get(e.actorId) ?? e.actorName, e.actorId, "actor") : e.actorName || "—",
          h("code", {}, e.action),
          h("span", { class: "touched-list" }, touchedOf(e, dir).map((t, i) => [i > 0 ? ", " : "", linkTo(t)])),
          outcomeBadge(e.outcome),
          e.reason,
          e.roomId ? named(dir.rooms.get(e.roomId) ?? text(e.details, "roomName"), e.roomId, "room") : "",
        ]),
        { id: "audit-table" },
      ),
    );

  const load = async (append: boolean) => {
    const v = formValues(form);
    const since = dateOf(v.since);
    const until = dateOf(v.until);
    try {
      const res = await progress.run("Loading audit events", () =>
        api.audit.listAuditEvents({
          roomId: v.roomId || undefined,
          actorId: v.actorId || undefined,
          action: v.action || undefined,
          since: since ? timestampFromDate(since) : undefined,
          until: until ? timestampFromDate(until) : undefined,
          pageSize: 100,
          pageToken: append ? pageToken : "",
        }),
      search);
      shown = append ? [...shown, ...res.events] : res.events;
      pageToken = res.nextPageToken;
      // Actions seen that the list lacks (named by a handler) join the filter.
      for (const a of new Set(shown.map((e) => e.action))) {
        if (!Array.from(actionList.options).some((o) => o.value === a)) actionList.append(h("option", { value: a }));
      }
      await directory;
      render();
      replace(more, pageToken ? button("Load older events", () => void load(true), { id: "audit-more" }) : null);
    } catch (err) {
      replace(results, errorBox(err, "List audit events"));
      replace(more);
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void load(false);
  });

  void runVerify();
  void load(false);
  return {
    el: h(
      "div",
      { class: "view", id: "audit-view" },
      section("Audit chain", { id: "audit-verify-card" }, chain, verify),
      section("Audit events", { id: "audit" }, form, results, more),
    ),
  };
}
