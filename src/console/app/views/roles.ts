import type { Permission, Role } from "../../../../gen/gatehouse/v1/roles_pb.js";
import { chips, field, formValues, h, replace, table } from "../dom.js";
import { button, errorBox, loadInto, notice, section, type View, type ViewContext } from "../ui.js";
import { confirmInline } from "../confirm.js";
import { policyForm } from "./policy-form.js";

/** permissionPicker renders the catalog as checkboxes (key and description), `checked` ticked. */
function permissionPicker(catalog: readonly Permission[], checked: readonly string[], id: string): HTMLFieldSetElement {
  return h(
    "fieldset",
    { class: "checks permission-picker", id },
    h("legend", {}, "Permissions"),
    catalog.map((p) => h("label", { class: "check", title: p.description }, h("input", { type: "checkbox", name: "permissions", value: p.key, checked: checked.includes(p.key) }), h("code", {}, p.key), h("span", { class: "muted" }, p.description))),
  );
}

/**
 * rolesView manages the tenant's roles: lists them, creates one with
 * permissions picked from the catalog, deletes one (not a built-in), changes
 * a role's permissions and its default policy. Without `roles.write` it only
 * lists.
 */
export function rolesView(ctx: ViewContext): View {
  const { api, progress } = ctx;
  const canWrite = ctx.can("roles.write");
  let catalog: Permission[] = [];
  const list = h("div", { id: "roles-list" });
  const status = h("div", { id: "roles-status", "aria-live": "polite" });
  const editor = h("div", { id: "role-editor" });

  const edit = (role: Role) => {
    const permStatus = h("div", { id: "role-permissions-status", "aria-live": "polite" });
    const picker = permissionPicker(catalog, role.permissions, "role-permissions");
    const save = h("button", { type: "submit", class: "primary", id: "role-permissions-save" }, "Save permissions");
    const form = h("form", { id: "role-permissions-form", class: "stack" }, picker, h("div", { class: "actions" }, save));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const wanted = new Set((formValues(form).permissions ?? "").split(",").filter(Boolean));
      const had = new Set(role.permissions);
      const add = [...wanted].filter((k) => !had.has(k));
      const remove = [...had].filter((k) => !wanted.has(k));
      void progress.run("Saving permissions", async () => {
        for (const permission of add) await api.roles.addRolePermission({ roleId: role.roleId, permission });
        for (const permission of remove) await api.roles.removeRolePermission({ roleId: role.roleId, permission });
      }, save).then(
        () => {
          role.permissions = [...wanted].sort();
          replace(permStatus, notice("ok", `Saved: ${add.length} added, ${remove.length} removed.`));
          void load();
        },
        (err: unknown) => replace(permStatus, errorBox(err, "Save permissions")),
      );
    });
    const policyBox = h("div");
    const loadPolicy = () =>
      loadInto(policyBox, "the default policy", () => api.roles.getRoleDefaultPolicy({ roleId: role.roleId }), (res) =>
        policyForm(ctx, {
          id: "role-policy",
          layer: res.policy,
          editable: canWrite,
          hint: "The user layer of the role's holders who have no user override; it may loosen up to the global override_ceiling.",
          save: (policy) => api.roles.updateRoleDefaultPolicy({ roleId: role.roleId, policy }),
        }),
      );
    replace(
      editor,
      section(
        `Role ${role.name}`,
        { id: "role-edit" },
        h("p", { class: "muted" }, role.description || "", " ", h("code", {}, role.roleId)),
        h("h3", {}, "Permissions"),
        permStatus,
        form,
        h("h3", {}, "Default policy"),
        policyBox,
        button("Close", () => replace(editor), { class: "small", id: "role-edit-close" }),
      ),
    );
    void loadPolicy();
    picker.querySelector("input")?.focus();
  };

  const load = () =>
    loadInto(list, "roles", () => api.roles.listRoles({ pageSize: 1000 }), (res) =>
      table(
        ["Role", "Built-in", "Permissions", "Description", ""],
        res.roles.map((r) => {
          const del = button("Delete…", async () => {
            // The question counts who loses the role, when the caller may list users.
            const holders = ctx.can("users.read") ? await api.users.listUsers({ pageSize: 1000 }).then((res) => res.users.filter((u) => u.roleIds.includes(r.roleId)).length, () => undefined) : undefined;
            const who = holders === undefined ? "Its holders lose it." : holders === 0 ? "Nobody holds it." : `${holders} user${holders === 1 ? "" : "s"} hold${holders === 1 ? "s" : ""} it and lose${holders === 1 ? "s" : ""} it.`;
            confirmInline(del, `Delete role ${r.name}? ${who}`, () => {
              void progress.run("Deleting role", () => api.roles.deleteRole({ roleId: r.roleId })).then(
                () => {
                  replace(status, notice("ok", `Deleted role ${r.name}.`));
                  replace(editor);
                  void load();
                },
                (err: unknown) => replace(status, errorBox(err, "Delete role")),
              );
            });
          }, { class: "small danger", "data-delete-role": r.name });
          return [
            h("strong", { class: "role-name" }, r.name),
            r.builtIn ? "yes" : "no",
            chips(r.permissions, "perm"),
            r.description,
            canWrite
              ? h("span", { class: "row-actions" }, button("Edit…", () => edit(r), { class: "small", "data-edit-role": r.name }), r.builtIn ? null : del)
              : button("Details", () => edit(r), { class: "small", "data-edit-role": r.name }),
          ];
        }),
        { id: "roles-table" },
      ),
    );

  const createStatus = h("div", { id: "create-role-status", "aria-live": "polite" });
  const pickerBox = h("div");
  const submit = h("button", { type: "submit", class: "primary", id: "create-role-submit" }, "Create role");
  const form = h(
    "form",
    { id: "create-role-form", class: "stack" },
    h(
      "div",
      { class: "grid-form" },
      field("Name", h("input", { name: "name", id: "new-role-name", required: true, autocomplete: "off" })),
      field("Description", h("input", { name: "description", id: "new-role-description", autocomplete: "off" })),
    ),
    pickerBox,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    const request = { name: v.name ?? "", description: v.description ?? "", permissions: (v.permissions ?? "").split(",").filter(Boolean) };
    void progress.run("Creating role", () => api.roles.createRole(request), submit).then(
      (res) => {
        replace(createStatus, notice("ok", `Created role ${res.role?.name ?? request.name}.`));
        form.reset();
        void load();
        if (res.role) edit(res.role);
      },
      (err: unknown) => replace(createStatus, errorBox(err, "Create role")),
    );
  });

  const catalogBox = h("div", { id: "permission-catalog" });
  void loadInto(catalogBox, "permissions", () => api.roles.listPermissions({}), (res) => {
    catalog = res.permissions;
    replace(pickerBox, permissionPicker(catalog, [], "create-role-permissions"));
    return h("details", {}, h("summary", {}, `Permission catalog (${catalog.length} keys)`), table(["Key", "Description"], catalog.map((p) => [h("code", {}, p.key), p.description])));
  }).then(() => load());

  return {
    el: h(
      "div",
      { class: "view", id: "roles-view" },
      section("Roles", { id: "roles" }, status, list, catalogBox),
      editor,
      canWrite ? section("Create a role", { id: "create-role" }, createStatus, form) : null,
    ),
  };
}
