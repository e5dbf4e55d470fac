import { Effect } from "../../../../gen/gatehouse/v1/common_pb.js";
import type { Rule } from "../../../../gen/gatehouse/v1/rules_pb.js";
import { chips, field, formValues, h, replace, select, table } from "../dom.js";
import { button, errorBox, loadInto, notice, section, type View, type ViewContext } from "../ui.js";

const actions = ["store.read", "store.write", "store.delete", "store.list", "net.fetch", "macro.run", "*"] as const;

/** effectName renders an Effect (ALLOW, DENY). */
function effectName(effect: Effect): string {
  return Effect[effect] ?? String(effect);
}

/**
 * rulesView lists the runtime rules, creates and deletes them, and offers a
 * dry run (EvaluateRules) that highlights the rules that matched.
 */
export function rulesView(ctx: ViewContext): View {
  const { api, progress } = ctx;
  const list = h("div", { id: "rules-list" });
  const createStatus = h("div");
  const dryResult = h("div", { id: "dry-run-result" });
  let highlighted = new Set<string>();

  const render = (rules: Rule[]) =>
    table(
      ["Subject", "Action", "Resource", "Effect", "Description", "Rule id", ""],
      rules.map((r) => [
        h("code", {}, r.subject),
        h("code", {}, r.action),
        h("code", {}, r.resource),
        h("span", { class: `badge ${r.effect === Effect.DENY ? "deny" : "allow"}` }, effectName(r.effect)),
        r.description,
        h("code", { class: highlighted.has(r.ruleId) ? "hit" : "" }, r.ruleId),
        ctx.can("rules.write")
          ? button("Delete", () => {
              void api.rules.deleteRule({ ruleId: r.ruleId }).then(
                () => void load(),
                (err: unknown) => replace(createStatus, errorBox(err, "Delete rule")),
              );
            }, { class: "small danger" })
          : "",
      ]),
      { id: "rules-table" },
    );
  const load = () => loadInto(list, "rules", () => api.rules.listRules({ pageSize: 1000 }), (res) => render(res.rules));

  const create = h("button", { type: "submit", class: "primary" }, "Create rule");
  const form = h(
    "form",
    { class: "grid-form", id: "create-rule-form" },
    field("Subject", h("input", { name: "subject", required: true, placeholder: "*, user:<id>, role:<name>, room:<id>, macro:<id>" })),
    field("Action", select("action", actions.map((a) => [a, a]), "store.read")),
    field("Resource", h("input", { name: "resource", required: true, placeholder: "invoices/*" })),
    field("Effect", select("effect", [[String(Effect.ALLOW), "ALLOW"], [String(Effect.DENY), "DENY"]], String(Effect.DENY))),
    field("Description", h("input", { name: "description" })),
    h("div", { class: "actions" }, create),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    void progress
      .run("Creating rule", () => api.rules.createRule({ subject: v.subject ?? "", action: v.action ?? "", resource: v.resource ?? "", effect: Number(v.effect) as Effect, description: v.description ?? "" }), create)
      .then(
        () => {
          replace(createStatus, notice("ok", "Rule created."));
          form.reset();
          void load();
        },
        (err: unknown) => replace(createStatus, errorBox(err, "Create rule")),
      );
  });

  const evaluate = h("button", { type: "submit", class: "primary", id: "dry-run-submit" }, "Evaluate");
  const dry = h(
    "form",
    { class: "grid-form", id: "dry-run-form" },
    field("Subjects", h("input", { name: "subjects", id: "dry-subjects", required: true, value: `user:${ctx.me.user?.userId ?? ""}` }), "comma-separated, e.g. user:<id>, role:editor, room:<id>"),
    field("Action", select("action", actions.filter((a) => a !== "*").map((a) => [a, a]), "store.read", { id: "dry-action" })),
    field("Resource", h("input", { name: "resource", id: "dry-resource", required: true, placeholder: "invoices/42" })),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "baseline", value: "yes", id: "dry-baseline" }), "the baseline allows it"),
    h("div", { class: "actions" }, evaluate),
  );
  dry.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = formValues(dry);
    const subjects = (v.subjects ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    void progress
      .run("Evaluating rules", () => api.rules.evaluateRules({ subjects, action: v.action ?? "", resource: v.resource ?? "", baselineAllowed: v.baseline === "yes" }), evaluate)
      .then(
        (res) => {
          highlighted = new Set(res.matchedRuleIds);
          replace(
            dryResult,
            notice(
              res.allowed ? "ok" : "warn",
              h("strong", { id: "dry-run-verdict" }, res.allowed ? "ALLOWED" : "DENIED"),
              res.reason ? ` — ${res.reason}` : "",
              h("div", {}, "matched: ", chips(res.matchedRuleIds)),
              h("div", {}, "deciding: ", chips(res.decidingRuleIds)),
            ),
          );
          void load();
        },
        (err: unknown) => replace(dryResult, errorBox(err, "Evaluate rules")),
      );
  });

  void load();
  return {
    el: h(
      "div",
      { class: "view", id: "rules-view" },
      section("Dry run", { id: "dry-run" }, h("p", { class: "muted" }, "Allowed when (the baseline allows it or an ALLOW rule matches) and no DENY rule matches."), dry, dryResult),
      section("Rules", { id: "rules" }, list),
      ctx.can("rules.write") ? section("Create a rule", { id: "create-rule" }, createStatus, form) : null,
    ),
  };
}
