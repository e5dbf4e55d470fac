import { Effect } from "../../../../gen/gatehouse/v1/common_pb.js";
import type { Rule } from "../../../../gen/gatehouse/v1/rules_pb.js";
import { chips, field, formValues, h, replace, select, table } from "../dom.js";
import { failureOf } from "../api.js";
import { button, errorBox, loadInto, notAllowed, notice, openDialog, section, type View, type ViewContext } from "../ui.js";

const actions = ["store.read", "store.write", "store.delete", "store.list", "net.fetch", "macro.run", "*"] as const;

/** effectName renders an Effect (ALLOW, DENY). */
function effectName(effect: Effect): string {
  return Effect[effect] ?? String(effect);
}

/**
 * rulesView lists the runtime rules, creates, edits (UpdateRule, refusals
 * shown on their field) and deletes them, and offers a dry run (EvaluateRules) that highlights the rules that matched.
 */
export function rulesView(ctx: ViewContext): View {
  const { api, progress } = ctx;
  const list = h("div", { id: "rules-list", class: "list-box" });
  const listStatus = h("div", { id: "rules-status" });
  const createStatus = h("div");
  const dryResult = h("div", { id: "dry-run-result" });
  let highlighted = new Set<string>();

  /** ruleFields builds the rule form's controls (create and edit share them), filled from `rule`. */
  const ruleFields = (prefix: string, rule?: Rule) => [
    field("Subject", h("input", { name: "subject", id: `${prefix}-subject`, required: true, value: rule?.subject, placeholder: "*, user:<id>, role:<name>, room:<id>, macro:<id>", autocomplete: "off" })),
    field("Action", select("action", [...new Set([...actions, ...(rule ? [rule.action] : [])])].map((a) => [a, a]), rule?.action ?? "store.read", { id: `${prefix}-action` })),
    field("Resource", h("input", { name: "resource", id: `${prefix}-resource`, required: true, value: rule?.resource, placeholder: "invoices/*", autocomplete: "off" })),
    field("Effect", select("effect", [[String(Effect.ALLOW), "ALLOW"], [String(Effect.DENY), "DENY"]], String(rule?.effect ?? Effect.DENY), { id: `${prefix}-effect` })),
    field("Description", h("input", { name: "description", id: `${prefix}-description`, value: rule?.description, autocomplete: "off" })),
  ];

  /** markField puts a refusal's field error beside its control (ErrorDetail.field names it). */
  const markField = (form: HTMLFormElement, err: unknown): void => {
    for (const el of Array.from(form.querySelectorAll("[aria-invalid]"))) el.removeAttribute("aria-invalid");
    for (const el of Array.from(form.querySelectorAll(".field-error"))) el.remove();
    const f = failureOf(err);
    const name = f.detail?.field.replace(/[^a-z_]/g, "");
    const control = name ? form.querySelector<HTMLElement>(`[name="${name}"]`) : null;
    if (!control) return;
    const message = h("span", { class: "field-error", id: `${control.id}-error` }, f.message);
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", message.id);
    control.after(message);
    control.focus();
  };

  const editRule = async (rule: Rule) => {
    const editForm = h("form", { class: "stack", id: "edit-rule-form" }, ruleFields("edit-rule", rule));
    editForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      document.getElementById("edit-rule-dialog-confirm")?.click();
    });
    const saved = await openDialog(progress, {
      id: "edit-rule-dialog",
      title: "Edit rule",
      body: [h("p", { class: "muted" }, "Rule ", h("code", {}, rule.ruleId)), editForm],
      confirmLabel: "Save rule",
      onConfirm: async () => {
        const v = formValues(editForm);
        const effect = Number(v.effect) as Effect;
        // Send only what changed: UpdateRule leaves unset fields as they are.
        try {
          await api.rules.updateRule({
            ruleId: rule.ruleId,
            subject: v.subject !== rule.subject ? v.subject : undefined,
            action: v.action !== rule.action ? v.action : undefined,
            resource: v.resource !== rule.resource ? v.resource : undefined,
            effect: effect !== rule.effect ? effect : undefined,
            description: (v.description ?? "") !== rule.description ? (v.description ?? "") : undefined,
          });
        } catch (err) {
          markField(editForm, err);
          throw err;
        }
      },
    });
    if (saved) {
      replace(listStatus, notice("ok", "Rule saved."));
      void load();
    }
  };

  const deleteRule = async (rule: Rule) => {
    const deleted = await openDialog(progress, {
      id: "delete-rule-dialog",
      title: "Delete this rule?",
      body: [
        h("p", {}, `${effectName(rule.effect)} `, h("code", {}, rule.action), " on ", h("code", { class: "wrap" }, rule.resource), " for ", h("code", { class: "wrap" }, rule.subject), rule.description ? ` — ${rule.description}` : ""),
        h("p", { class: "muted" }, "Calls are decided without it from then on."),
      ],
      confirmLabel: "Delete rule",
      danger: true,
      onConfirm: async () => {
        await api.rules.deleteRule({ ruleId: rule.ruleId });
      },
    });
    if (deleted) {
      replace(listStatus, notice("ok", "Rule deleted."));
      void load();
    }
  };

  const render = (rules: Rule[]) =>
    table(
      ["Subject", "Action", "Resource", "Effect", "Description", "Rule id", ""],
      rules.map((r) => [
        h("code", { class: "wrap" }, r.subject),
        h("code", {}, r.action),
        h("code", { class: "wrap" }, r.resource),
        h("span", { class: `badge ${r.effect === Effect.DENY ? "deny" : "allow"}` }, effectName(r.effect)),
        r.description,
        h("code", { class: highlighted.has(r.ruleId) ? "hit" : "" }, r.ruleId),
        ctx.can("rules.write")
          ? h(
              "span",
              { class: "row-actions" },
              button("Edit", () => void editRule(r), { class: "small", "data-edit-rule": r.ruleId, "aria-label": `Edit rule ${r.action} on ${r.resource}` }),
              button("Delete", () => void deleteRule(r), { class: "small danger", "data-delete-rule": r.ruleId, "aria-label": `Delete rule ${r.action} on ${r.resource}` }),
            )
          : "",
      ]),
      { id: "rules-table", "aria-label": "Rules" },
    );
  const load = () => loadInto(list, "rules", () => api.rules.listRules({ pageSize: 1000 }), (res) => render(res.rules));

  const create = h("button", { type: "submit", class: "primary" }, "Create rule");
  const form = h("form", { class: "grid-form", id: "create-rule-form" }, ruleFields("new-rule"), h("div", { class: "actions" }, create));
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
        (err: unknown) => {
          replace(createStatus, errorBox(err, "Create rule"));
          markField(form, err);
        },
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

  const readable = ctx.can("rules.read");
  if (readable) void load();
  else replace(list, notAllowed("the rules", "it needs the permission rules.read"));
  return {
    el: h(
      "div",
      { class: "view", id: "rules-view" },
      !readable ? null : section("Dry run", { id: "dry-run" }, h("p", { class: "muted" }, "Allowed when (the baseline allows it or an ALLOW rule matches) and no DENY rule matches."), dry, dryResult),
      section("Rules", { id: "rules" }, listStatus, list),
      ctx.can("rules.write") ? section("Create a rule", { id: "create-rule" }, createStatus, form) : null,
    ),
  };
}
