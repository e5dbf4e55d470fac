import { create, ScalarType } from "@bufbuild/protobuf";
import type { GetServerInfoResponse } from "../../../../gen/gatehouse/v1/auth_pb.js";
import { PolicySchema, type Policy } from "../../../../gen/gatehouse/v1/common_pb.js";
import type { GetEffectivePolicyResponse } from "../../../../gen/gatehouse/v1/policies_pb.js";
import { failureOf } from "../api.js";
import { formatBytes, h, replace, type Child } from "../dom.js";
import { errorBox, notice, type ViewContext } from "../ui.js";

/**
 * One policy layer as a form: a row per Policy field with its control, the
 * effective value and the layer that set it, and a slot where a refusal of
 * that field (POLICY_LOOSENS, or a value out of bounds) is shown with the
 * parent's value and layer, as the server's ErrorDetail says.
 *
 * Empty means "inherit" (the field is unset on this layer). Lists are
 * comma-separated; `none` sets an empty list.
 */

type Kind = "number" | "boolean" | "list";

/** policyFields are the Policy fields a layer sets (override_ceiling is global-only and edited apart). */
export const policyFields = PolicySchema.fields
  .filter((f) => f.name !== "override_ceiling")
  .map((f) => ({
    name: f.name,
    localName: f.localName,
    kind: (f.fieldKind === "message" ? "list" : f.fieldKind === "scalar" && f.scalar === ScalarType.BOOL ? "boolean" : "number") as Kind,
  }));

let serverInfo: Promise<GetServerInfoResponse | undefined> | undefined;

/** serverInfoOf loads GetServerInfo once (the bounds of each field); undefined when unavailable. */
export function serverInfoOf(ctx: ViewContext): Promise<GetServerInfoResponse | undefined> {
  serverInfo ??= ctx.api.auth.getServerInfo({}).catch(() => {
    serverInfo = undefined;
    return undefined;
  });
  return serverInfo;
}

/** fieldValue reads a field of a Policy (undefined when unset). */
function fieldValue(policy: Policy | undefined, localName: string): unknown {
  return policy ? (policy as unknown as Record<string, unknown>)[localName] : undefined;
}

/** valueText renders a policy value for reading (bytes readable, lists joined). */
export function valueText(name: string, value: unknown): Child {
  if (value === undefined || value === null) return h("span", { class: "muted" }, "inherit");
  if (typeof value === "object" && "values" in (value as object)) {
    const list = (value as { values: string[] }).values;
    return list.length === 0 ? "(empty)" : list.join(", ");
  }
  if (typeof value === "number" && name.endsWith("_bytes")) return `${value} (${formatBytes(value)})`;
  return String(value);
}

/** layerBadge renders the layer that set a field (`role:<name>` shares one colour). */
export function layerBadge(layer: string, attrs: Record<string, string> = {}): HTMLElement {
  return h("span", { class: `layer layer-${layer.startsWith("role:") ? "role" : layer.split(".")[0]}`, ...attrs }, layer);
}

/** PolicyFormOptions configure policyForm. */
export interface PolicyFormOptions {
  /** id prefixes the form's element ids (`room-policy` → `room-policy-timeout_ms`). */
  id: string;
  /** layer is the layer's current value (what this layer sets). */
  layer: Policy | undefined;
  /**
   * effectiveColumn adds a column with the effective value of each field and
   * the layer that set it, filled (and refreshed) by showEffective.
   */
  effectiveColumn?: boolean;
  /** editable says whether the caller may save this layer; otherwise the values are only shown. */
  editable: boolean;
  /** hint is a line shown above the fields (the layer's rule). */
  hint?: Child;
  /** save writes the layer; its error is shown on the field it names. */
  save(policy: Policy): Promise<unknown>;
  /** saved runs after a successful save (to reload the effective values). */
  saved?(): void;
}

/** refusalText explains a refused field from its ErrorDetail. */
function refusalText(detail: { reason: string; attemptedValue: string; parentValue: string; layer: string; message: string }, message: string): string {
  if (detail.reason === "POLICY_LOOSENS") {
    return `${detail.attemptedValue || "This value"} is looser than ${detail.parentValue || "the parent's value"}${detail.layer ? `, set by ${detail.layer}` : ""}.`;
  }
  return message || detail.message || detail.reason;
}

/**
 * showEffective fills (or refreshes) the effective column of every policy
 * form under `root`: the value and the layer that set it, or nothing when
 * no scope is chosen. The forms' own inputs are left as they are.
 */
export function showEffective(root: ParentNode, effective: GetEffectivePolicyResponse | undefined): void {
  for (const slot of Array.from(root.querySelectorAll<HTMLElement>(".policy-effective[data-field]"))) {
    const name = slot.dataset.field ?? "";
    const f = policyFields.find((x) => x.name === name);
    if (!f || !effective) {
      replace(slot);
      continue;
    }
    replace(slot, h("span", { class: "effective-value" }, valueText(name, fieldValue(effective.policy, f.localName))), " ", layerBadge(effective.sources[name] ?? "default", { "data-source": name }));
  }
}

/** policyForm builds the form (or, when not editable, a read-only table) of one layer. */
export function policyForm(ctx: ViewContext, options: PolicyFormOptions): HTMLElement {
  const status = h("div", { id: `${options.id}-status`, "aria-live": "polite" });
  const errors = new Map<string, HTMLElement>();
  const controls = new Map<string, HTMLInputElement | HTMLSelectElement>();
  const rows = policyFields.map((f) => {
    const current = fieldValue(options.layer, f.localName);
    const controlId = `${options.id}-${f.name}`;
    const beside = options.effectiveColumn ? h("span", { class: "policy-effective", "data-field": f.name }) : null;
    if (!options.editable) {
      return h("tr", {}, h("th", { scope: "row" }, h("code", {}, f.name)), h("td", { "data-layer-value": f.name }, valueText(f.name, current)), beside ? h("td", {}, beside) : null);
    }
    let control: HTMLInputElement | HTMLSelectElement;
    if (f.kind === "boolean") {
      control = h(
        "select",
        { id: controlId, name: f.name },
        h("option", { value: "", selected: current === undefined }, "inherit"),
        h("option", { value: "true", selected: current === true }, "true"),
        h("option", { value: "false", selected: current === false }, "false"),
      );
    } else if (f.kind === "list") {
      const list = current as { values: string[] } | undefined;
      control = h("input", { id: controlId, name: f.name, value: list ? (list.values.length === 0 ? "none" : list.values.join(", ")) : "", placeholder: "inherit", autocomplete: "off" });
    } else {
      control = h("input", { id: controlId, name: f.name, type: "number", min: 0, step: 1, inputmode: "numeric", value: current === undefined ? "" : String(current), placeholder: "inherit" });
    }
    const error = h("span", { class: "field-error", id: `${controlId}-error`, "data-error-field": f.name });
    control.setAttribute("aria-describedby", error.id);
    errors.set(f.name, error);
    controls.set(f.name, control);
    return h("tr", { "data-field-row": f.name }, h("th", { scope: "row" }, h("label", { for: controlId }, h("code", {}, f.name))), h("td", {}, control, error), beside ? h("td", {}, beside) : null);
  });
  // The server's bounds of each number (min/max), once known.
  void serverInfoOf(ctx).then((info) => {
    for (const b of info?.policyFields ?? []) {
      const input = controls.get(b.field);
      if (input instanceof HTMLInputElement && input.type === "number") {
        input.min = String(b.min);
        input.max = String(b.max);
        input.title = `${b.min}–${b.max}, built-in default ${b.defaultValue}`;
      }
    }
  });
  const head = h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, options.editable ? "This layer" : "This layer sets"), options.effectiveColumn ? h("th", { scope: "col" }, "Effective (set by)") : null));
  const tableEl = h("table", { class: "policy-fields", id: `${options.id}-fields` }, head, h("tbody", {}, rows));
  if (!options.editable) return h("div", { id: options.id, class: "policy-layer" }, options.hint ? h("p", { class: "legend" }, options.hint) : null, tableEl);

  const submit = h("button", { type: "submit", class: "primary", id: `${options.id}-save` }, "Save");
  const form = h("form", { id: options.id, class: "policy-layer", novalidate: true }, options.hint ? h("p", { class: "legend" }, options.hint) : null, status, tableEl, h("div", { class: "actions" }, submit, h("span", { class: "hint" }, "Empty inherits; a list takes comma-separated values, “none” for an empty list.")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    for (const [name, el] of errors) {
      replace(el);
      controls.get(name)?.removeAttribute("aria-invalid");
    }
    replace(status);
    const init: Record<string, unknown> = {};
    for (const f of policyFields) {
      const raw = controls.get(f.name)!.value.trim();
      if (raw === "") continue;
      if (f.kind === "boolean") init[f.localName] = raw === "true";
      else if (f.kind === "list") init[f.localName] = { values: raw.toLowerCase() === "none" ? [] : raw.split(",").map((s) => s.trim()).filter(Boolean) };
      else init[f.localName] = Number(raw);
    }
    const policy = create(PolicySchema, init as never);
    void ctx.progress.run("Saving policy", () => options.save(policy), submit).then(
      () => {
        replace(status, notice("ok", "Saved."));
        options.saved?.();
      },
      (err: unknown) => {
        const f = failureOf(err);
        const name = f.detail?.field.split(".").pop() ?? "";
        const slot = errors.get(name);
        if (slot && f.detail) {
          replace(slot, h("span", { role: "alert" }, refusalText(f.detail, f.message), " ", h("span", { class: "code" }, f.detail.reason)));
          controls.get(name)?.setAttribute("aria-invalid", "true");
          controls.get(name)?.focus();
        } else {
          replace(status, errorBox(err, "Save policy"));
        }
      },
    );
  });
  return form;
}
