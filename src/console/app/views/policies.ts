import { create } from "@bufbuild/protobuf";
import { Level, PolicySchema, RoomRole, type Policy } from "../../../../gen/gatehouse/v1/common_pb.js";
import type { GetEffectivePolicyResponse } from "../../../../gen/gatehouse/v1/policies_pb.js";
import type { User } from "../../../../gen/gatehouse/v1/users_pb.js";
import { allows, allowsInRoom, outranks } from "../access.js";
import { field, h, replace, select, table } from "../dom.js";
import { button, errorBox, loadInto, notice, section, type View, type ViewContext } from "../ui.js";
import { layerBadge, policyForm, showEffective, valueText } from "./policy-form.js";
import { createRoomPicker } from "./room-picker.js";

/** effectivePolicyTable lists every policy field, its effective value and the layer that set it. */
export function effectivePolicyTable(res: GetEffectivePolicyResponse): HTMLElement {
  const policy = (res.policy ?? {}) as Policy;
  const rows = PolicySchema.fields
    .filter((f) => f.name !== "override_ceiling")
    .map((f) => {
      const layer = res.sources[f.name] ?? "default";
      return [h("code", {}, f.name), valueText(f.name, (policy as unknown as Record<string, unknown>)[f.localName]), layerBadge(layer, { "data-field": f.name })];
    });
  return table(["Field", "Effective value", "Set by layer"], rows, { id: "effective-policy-table" });
}

/**
 * policiesView edits the four policy layers (global, room, macro, user
 * override) of a scope chosen at the top (a room, optionally a macro and a
 * user), each as a form with the effective value and its source beside each
 * field, and computes the effective policy. A layer the caller may not
 * change is shown read-only; a layer they may not read is not shown.
 */
export function policiesView(ctx: ViewContext): View {
  const { api, progress } = ctx;
  const macroBox = h("span");
  const userBox = h("span");
  const result = h("div", { id: "effective-policy" });
  const layers = h("div", { id: "policy-layers", class: "view" });
  const view = h("div", { class: "view", id: "policies-view" });
  let users: User[] = [];
  let macroSel: HTMLSelectElement | undefined;
  let userSel: HTMLSelectElement | undefined;
  let generation = 0;

  const scope = () => ({ roomId: ctx.state.roomId ?? "", macroId: macroSel?.value || undefined, userId: userSel?.value || undefined });

  // The global layer is the same whatever the scope: built once, its effective column refreshed.
  const globalCard = section("Global policy", { id: "global-policy-card" });
  const globalEditable = allows(ctx, { permission: "policies.global_write", minLevel: Level.GOD });
  const globalBox = h("div");
  globalCard.append(globalBox);
  let lastEffective: GetEffectivePolicyResponse | undefined;
  void loadInto(globalBox, "the global policy", () => api.policies.getGlobalPolicy({}), (res) => {
    // What the global layer holds now: each of its two forms saves its part and keeps the other.
    let stored: Policy = res.policy ?? create(PolicySchema);
    return [
      policyForm(ctx, {
        id: "global-policy",
        layer: stored,
        effectiveColumn: true,
        editable: globalEditable,
        hint: "The outermost layer, for every tenant. Its allow_room_tokens is a ceiling: false refuses room tokens in every room; true only lets a room opt in.",
        save: async (policy) => {
          stored = (await api.policies.updateGlobalPolicy({ policy: { ...policy, overrideCeiling: stored.overrideCeiling } })).policy ?? stored;
        },
        saved: () => void refreshEffective(),
      }),
      h("details", { id: "global-ceiling-box", class: "ceiling" }, h("summary", {}, "Override ceiling: how far a user override may loosen"), policyForm(ctx, {
        id: "global-ceiling",
        layer: stored.overrideCeiling,
        editable: globalEditable,
        hint: "How far a user override or a role's default policy may loosen the merged policy. Unset fields: no loosening past the layers above.",
        save: async (overrideCeiling) => {
          stored = (await api.policies.updateGlobalPolicy({ policy: { ...stored, overrideCeiling } })).policy ?? stored;
        },
        saved: () => void refreshEffective(),
      })),
    ];
  }).then(() => showEffective(globalBox, lastEffective));

  /** refreshEffective reads the effective policy of the scope into the table and every form's effective column. */
  const refreshEffective = async () => {
    const mine = generation;
    const { roomId, macroId, userId } = scope();
    const chosen = picker.rooms().find((r) => r.roomId === roomId);
    const room = chosen && chosen.myRole >= RoomRole.VIEWER ? chosen : undefined;
    const effective = room ? await api.policies.getEffectivePolicy({ roomId, macroId, userId }).catch(() => undefined) : undefined;
    if (mine !== generation) return;
    replace(result, effective ? effectivePolicyTable(effective) : chosen && !room ? notice("info", `You are not a member of ${chosen.name}: its policies are not shown.`) : null);
    lastEffective = effective;
    showEffective(view, effective);
  };

  /** renderLayers shows one form per layer of the scope (room, macro, user), then the effective values. */
  const renderLayers = async () => {
    const mine = ++generation;
    const { roomId, macroId, userId } = scope();
    const chosen = picker.rooms().find((r) => r.roomId === roomId);
    // Every room-scoped read needs a role in the room: a room the caller is no member of shows nothing of its own.
    const room = chosen && chosen.myRole >= RoomRole.VIEWER ? chosen : undefined;
    const cards: HTMLElement[] = [];
    const reload = () => void refreshEffective();
    const loads: Promise<unknown>[] = [];

    if (room) {
      const roomBox = h("div");
      cards.push(section(`Room policy · ${room.name}`, { id: "room-policy-card" }, roomBox));
      loads.push(loadInto(roomBox, "the room policy", () => api.policies.getRoomPolicy({ roomId }), (res) =>
        policyForm(ctx, {
          id: "room-policy",
          layer: res.policy,
          effectiveColumn: true,
          editable: allowsInRoom(ctx, "policies.write", room.myRole, RoomRole.ADMIN),
          hint: "May only tighten the global policy. Room tokens are opt-in: the room accepts x-room-token only when allow_room_tokens is true here and the global policy permits it.",
          save: (policy) => api.policies.updateRoomPolicy({ roomId, policy }),
          saved: reload,
        }),
      ));
    }

    const macroName = macroSel?.selectedOptions[0]?.textContent ?? "";
    if (room && macroId) {
      const macroBoxEl = h("div");
      cards.push(section(`Macro policy · ${macroName}`, { id: "macro-policy-card" }, macroBoxEl));
      loads.push(loadInto(macroBoxEl, "the macro policy", () => api.policies.getMacroPolicy({ roomId, macroId }), (res) =>
        policyForm(ctx, {
          id: "macro-policy",
          layer: res.policy,
          effectiveColumn: true,
          editable: allowsInRoom(ctx, "macros.write", room.myRole, RoomRole.EDITOR) && ctx.can("locks.write"),
          hint: "May only tighten the room's merged policy. Saving takes the macro's lock for the moment of the write (refused while someone else edits it).",
          save: async (policy) => {
            const target = `macro/${macroId}`;
            // A lock the person already holds (an editor open elsewhere) is used and kept; otherwise it is taken for the write only.
            const held = ctx.can("locks.read") ? (await api.locks.getLock({ roomId, target }).catch(() => undefined))?.lock : undefined;
            if (held && held.ownerId === ctx.me.user?.userId) {
              await api.policies.updateMacroPolicy({ roomId, macroId, policy, fencingToken: held.fencingToken });
              return;
            }
            const lock = await api.locks.acquireLock({ roomId, target });
            try {
              await api.policies.updateMacroPolicy({ roomId, macroId, policy, fencingToken: lock.lock?.fencingToken });
            } finally {
              await api.locks.releaseLock({ roomId, target }).catch(() => undefined);
            }
          },
          saved: reload,
        }),
      ));
    }

    const user = users.find((u) => u.userId === userId);
    if (user) {
      const userBoxEl = h("div");
      const editable = allows(ctx, { permission: "policies.write", minLevel: Level.ADMIN }) && outranks(ctx, user.level) && user.userId !== ctx.me.user?.userId;
      const removeStatus = h("div");
      cards.push(
        section(
          `User override · ${user.username}`,
          { id: "user-policy-card" },
          removeStatus,
          userBoxEl,
          editable
            ? button("Remove the override", () => {
                void progress.run("Removing the override", () => api.policies.deleteUserPolicy({ userId: user.userId })).then(() => void renderLayers(), (err: unknown) => replace(removeStatus, errorBox(err, "Remove the override")));
              }, { id: "user-policy-delete", class: "small danger" })
            : null,
        ),
      );
      loads.push(loadInto(userBoxEl, "the user override", () => api.policies.getUserPolicy({ userId: user.userId }), (res) =>
        policyForm(ctx, {
          id: "user-policy",
          layer: res.policy,
          effectiveColumn: true,
          editable,
          hint: "The only layer that may loosen, up to the global override_ceiling; roles' default policies apply when a user has no override.",
          save: (policy) => api.policies.updateUserPolicy({ userId: user.userId, policy }),
          saved: reload,
        }),
      ));
    }
    if (mine !== generation) return;
    replace(layers, cards);
    await Promise.all(loads);
    await refreshEffective();
  };

  const loadMacros = async (roomId: string) => {
    macroSel = undefined;
    if (roomId && ctx.can("macros.read")) {
      const res = await api.macros.listMacros({ roomId, pageSize: 1000 }).catch(() => undefined);
      if (res) {
        macroSel = select("macroId", [["", "(no macro)"], ...res.macros.map((m) => [m.macroId, m.name] as const)], "", { id: "policy-macro" });
        macroSel.addEventListener("change", () => void renderLayers());
      }
    }
    replace(macroBox, macroSel ? field("Macro", macroSel) : null);
  };
  const picker = createRoomPicker(ctx, "policy-room", (roomId) => {
    replace(result);
    void loadMacros(roomId).then(() => renderLayers());
  });
  if (ctx.can("users.read")) {
    void api.users.listUsers({ pageSize: 1000 }).then(
      (res) => {
        users = res.users;
        userSel = select("userId", [["", "(no user layer)"], ...res.users.map((u) => [u.userId, u.username] as const)], "", { id: "policy-user" });
        userSel.addEventListener("change", () => void renderLayers());
        replace(userBox, field("User", userSel));
      },
      (err: unknown) => replace(userBox, errorBox(err, "List users")),
    );
  }

  const show = h("button", { type: "submit", class: "primary", id: "policy-show" }, "Show effective policy");
  const form = h("form", { class: "grid-form", id: "policy-form" }, picker.el, macroBox, userBox, h("div", { class: "actions" }, show));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const { roomId, macroId, userId } = scope();
    if (!roomId) {
      replace(result, notice("info", "Choose a room first."));
      return;
    }
    void progress.run("Computing effective policy", () => loadInto(result, "the effective policy", () => api.policies.getEffectivePolicy({ roomId, macroId, userId }), effectivePolicyTable), show);
  });
  void picker.reload();

  const legend = h(
    "p",
    { class: "legend" },
    "Layers, outermost first: ",
    ["global", "room", "macro", "user", "role:<name>", "default"].map((l) => [layerBadge(l), " "]),
    "— room and macro may only tighten; the user layer may loosen up to the global override ceiling.",
  );
  view.append(section("Effective policy", { id: "policies" }, form, legend, result), globalCard, layers);
  return {
    el: view,
    dispose: () => {
      generation++;
    },
  };
}
