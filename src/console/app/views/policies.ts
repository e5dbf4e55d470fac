import { PolicySchema, type Policy } from "../../../../gen/gatehouse/v1/common_pb.js";
import type { GetEffectivePolicyResponse } from "../../../../gen/gatehouse/v1/policies_pb.js";
import { field, formatBytes, h, replace, select, table, type Child } from "../dom.js";
import { errorBox, loadInto, section, type View, type ViewContext } from "../ui.js";
import { createRoomPicker } from "./room-picker.js";

/** policyValueText renders one policy field's value (bytes readable, lists joined). */
function policyValueText(name: string, value: unknown): Child {
  if (value === undefined || value === null) return h("span", { class: "muted" }, "unset");
  if (typeof value === "object" && "values" in (value as object)) {
    const list = (value as { values: string[] }).values;
    return list.length === 0 ? h("span", { class: "muted" }, "(empty)") : list.join(", ");
  }
  if (typeof value === "number" && name.endsWith("_bytes")) return `${value} (${formatBytes(value)})`;
  return String(value);
}

/** layerClass picks the badge colour of a layer name (`role:<name>` shares one). */
function layerClass(layer: string): string {
  return `layer layer-${layer.startsWith("role:") ? "role" : layer}`;
}

/** effectivePolicyTable lists every policy field, its effective value and the layer that set it. */
export function effectivePolicyTable(res: GetEffectivePolicyResponse): HTMLElement {
  const policy = (res.policy ?? {}) as Policy;
  const rows = PolicySchema.fields
    .filter((f) => f.name !== "override_ceiling")
    .map((f) => {
      const layer = res.sources[f.name] ?? "default";
      return [h("code", {}, f.name), policyValueText(f.name, (policy as unknown as Record<string, unknown>)[f.localName]), h("span", { class: layerClass(layer), "data-field": f.name }, layer)];
    });
  return table(["Field", "Effective value", "Set by layer"], rows, { id: "effective-policy-table" });
}

/**
 * policiesView computes the effective policy of a room, optionally for a
 * macro and a user, and shows which layer (global, room, macro, user,
 * role:<name> or default) set each field.
 */
export function policiesView(ctx: ViewContext): View {
  const { api, progress } = ctx;
  const macroBox = h("span");
  const userBox = h("span");
  const result = h("div", { id: "effective-policy" });
  let macroSel: HTMLSelectElement | HTMLInputElement = h("input", { id: "policy-macro", placeholder: "macro id (optional)" });

  const loadMacros = async (roomId: string) => {
    if (!roomId) {
      macroSel = select("macroId", [["", "(no macro)"]], "", { id: "policy-macro" });
    } else {
      try {
        const res = await api.macros.listMacros({ roomId, pageSize: 1000 });
        macroSel = select("macroId", [["", "(no macro)"], ...res.macros.map((m) => [m.macroId, m.name] as const)], "", { id: "policy-macro" });
      } catch {
        macroSel = h("input", { id: "policy-macro", placeholder: "macro id (optional)" });
      }
    }
    replace(macroBox, field("Macro", macroSel));
  };
  const picker = createRoomPicker(ctx, "policy-room", (roomId) => void loadMacros(roomId));
  let userSel: HTMLSelectElement | HTMLInputElement = h("input", { id: "policy-user", placeholder: "user id (optional)" });
  void api.users.listUsers({ pageSize: 1000 }).then(
    (res) => {
      userSel = select("userId", [["", "(no user layer)"], ...res.users.map((u) => [u.userId, u.username] as const)], "", { id: "policy-user" });
      replace(userBox, field("User", userSel));
    },
    () => replace(userBox, field("User", userSel)),
  );

  const show = h("button", { type: "submit", class: "primary", id: "policy-show" }, "Show effective policy");
  const form = h("form", { class: "grid-form", id: "policy-form" }, picker.el, macroBox, userBox, h("div", { class: "actions" }, show));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const roomId = ctx.state.roomId ?? "";
    if (!roomId) {
      replace(result, errorBox(new Error("choose a room first"), "Effective policy"));
      return;
    }
    const macroId = macroSel.value || undefined;
    const userId = userSel.value || undefined;
    void progress.run("Computing effective policy", () => loadInto(result, "the effective policy", () => api.policies.getEffectivePolicy({ roomId, macroId, userId }), effectivePolicyTable), show);
  });
  void picker.reload();

  const legend = h(
    "p",
    { class: "legend" },
    "Layers, outermost first: ",
    ["global", "room", "macro", "user", "role:<name>", "default"].map((l) => [h("span", { class: layerClass(l) }, l), " "]),
    "— room and macro may only tighten; the user layer may loosen up to the global override ceiling.",
  );
  return { el: h("div", { class: "view", id: "policies-view" }, section("Effective policy", { id: "policies" }, form, legend, result)) };
}
