import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AuditOutcome, type AuditEvent } from "../../../../gen/gatehouse/v1/audit_pb.js";
import { field, formatTime, formValues, h, replace, table } from "../dom.js";
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
 * auditView lists audit events (newest first) with filters by room, actor,
 * action and time, pages through them, and shows whether the tenant's hash
 * chain verifies.
 */
export function auditView(ctx: ViewContext): View {
  const { api, progress } = ctx;
  const chain = h("div", { id: "audit-chain" });
  const results = h("div", { id: "audit-events" });
  const more = h("div");
  let pageToken = "";
  let shown: AuditEvent[] = [];

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

  const search = h("button", { type: "submit", class: "primary", id: "audit-search" }, "Search");
  const form = h(
    "form",
    { class: "grid-form", id: "audit-filters" },
    field("Room id", h("input", { name: "roomId", id: "audit-room", placeholder: "any" })),
    field("Actor id", h("input", { name: "actorId", id: "audit-actor", placeholder: "any" })),
    field("Action", h("input", { name: "action", id: "audit-action", placeholder: "e.g. macros.run" })),
    field("Since", h("input", { name: "since", type: "datetime-local", step: 1 })),
    field("Until", h("input", { name: "until", type: "datetime-local", step: 1 })),
    h("div", { class: "actions" }, search),
  );

  const render = () =>
    replace(
      results,
      table(
        ["Seq", "Time", "Actor", "Action", "Resource", "Outcome", "Reason", "Room"],
        shown.map((e) => [
          String(e.seq),
          formatTime(e.createdAt ? timestampDate(e.createdAt) : undefined),
          e.actorName || h("code", {}, e.actorId || "—"),
          h("code", {}, e.action),
          h("code", { class: "wrap" }, e.resource),
          outcomeBadge(e.outcome),
          e.reason,
          e.roomId ? h("code", {}, e.roomId.slice(0, 8)) : "",
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
