import { Level } from "../../../../gen/gatehouse/v1/common_pb.js";
import type { Role } from "../../../../gen/gatehouse/v1/roles_pb.js";
import type { User } from "../../../../gen/gatehouse/v1/users_pb.js";
import { chips, field, formValues, h, replace, select, table } from "../dom.js";
import { button, errorBox, loadInto, notice, section, type View, type ViewContext } from "../ui.js";
import { levelName } from "./whoami.js";

const levels = [Level.GUEST, Level.USER, Level.ADMIN, Level.GOD, Level.SUPERGOD] as const;

/**
 * usersView lists users and roles, creates users (level and roles) and
 * assigns roles (SetUserRoles). Calls the server does not implement yet
 * show as such.
 */
export function usersView(ctx: ViewContext): View {
  const { api, progress } = ctx;
  let roles: Role[] = [];
  const usersBox = h("div", { id: "users-list" });
  const rolesBox = h("div", { id: "roles-list" });
  const createStatus = h("div", { id: "create-user-status" });
  const roleChoices = h("fieldset", { class: "checks", id: "create-user-roles" }, h("legend", {}, "Roles"));

  const roleCheckboxes = (name: string, checked: readonly string[]) =>
    roles.map((r) => h("label", { class: "check" }, h("input", { type: "checkbox", name, value: r.roleId, checked: checked.includes(r.roleId) }), r.name));

  const loadRoles = () =>
    loadInto(rolesBox, "roles", () => api.roles.listRoles({ pageSize: 1000 }), (res) => {
      roles = res.roles;
      replace(roleChoices, h("legend", {}, "Roles"), roleCheckboxes("roleIds", []));
      return table(
        ["Role", "Built-in", "Permissions", "Description"],
        res.roles.map((r) => [h("strong", {}, r.name), r.builtIn ? "yes" : "no", chips(r.permissions, "perm"), r.description]),
        { id: "roles-table" },
      );
    });

  const editRoles = (user: User, cell: HTMLElement) => {
    const status = h("span");
    const form = h("form", { class: "inline-form" }, roleCheckboxes("roleIds", user.roleIds));
    const save = h("button", { type: "submit" }, "Save roles");
    form.append(save, " ", button("Cancel", () => void loadUsers()), status);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const roleIds = (formValues(form).roleIds ?? "").split(",").filter(Boolean);
      void progress.run("Saving roles", () => api.users.setUserRoles({ userId: user.userId, roleIds }), save).then(
        () => void loadUsers(),
        (err: unknown) => replace(status, errorBox(err, "Assign roles")),
      );
    });
    replace(cell, form);
  };

  const loadUsers = () =>
    loadInto(usersBox, "users", () => api.users.listUsers({ pageSize: 1000 }), (res) =>
      table(
        ["Username", "Level", "Roles", "State", "User id", ""],
        res.users.map((u) => {
          const rolesCell = h("div", { class: "user-roles" }, chips(u.roleNames, "role"));
          return [
            h("strong", { class: "username" }, u.username),
            levelName(u.level),
            rolesCell,
            u.disabled ? h("span", { class: "badge warn" }, "disabled") : "active",
            h("code", {}, u.userId),
            ctx.can("users.write") ? button("Roles…", () => editRoles(u, rolesCell), { class: "small", "data-user": u.username }) : "",
          ];
        }),
        { id: "users-table" },
      ),
    );

  const submit = h("button", { type: "submit", class: "primary", id: "create-user-submit" }, "Create user");
  const form = h(
    "form",
    { id: "create-user-form", class: "grid-form" },
    field("Username", h("input", { name: "username", id: "new-username", required: true, pattern: "[a-z0-9][a-z0-9_.\\-]{2,63}", autocomplete: "off" }), "lowercase, 3–64 characters"),
    field("Password", h("input", { name: "password", id: "new-password", type: "password", required: true, autocomplete: "new-password" })),
    field("Level", select("level", levels.map((l) => [String(l), levelName(l)]), String(Level.USER), { id: "new-level" })),
    roleChoices,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    const request = {
      username: v.username ?? "",
      password: v.password ?? "",
      level: Number(v.level) as Level,
      roleIds: (v.roleIds ?? "").split(",").filter(Boolean),
    };
    void progress.run("Creating user", () => api.users.createUser(request), submit).then(
      (res) => {
        replace(createStatus, notice("ok", `Created user ${res.user?.username ?? request.username}.`));
        form.reset();
        void loadUsers();
      },
      (err: unknown) => replace(createStatus, errorBox(err, "Create user")),
    );
  });

  void loadRoles().then(() => loadUsers());
  const catalog = h("div", { id: "permission-catalog" });
  const details = h("details", {}, h("summary", {}, "Permission catalog"), catalog);
  details.addEventListener("toggle", () => {
    if (details.open && !catalog.firstChild) {
      void loadInto(catalog, "permissions", () => api.roles.listPermissions({}), (res) => table(["Key", "Description"], res.permissions.map((p) => [h("code", {}, p.key), p.description])));
    }
  });

  return {
    el: h(
      "div",
      { class: "view", id: "users-view" },
      section("Users", { id: "users" }, usersBox),
      ctx.can("users.write") ? section("Create a user", { id: "create-user" }, createStatus, form) : null,
      section("Roles", { id: "roles" }, rolesBox, details),
    ),
  };
}
