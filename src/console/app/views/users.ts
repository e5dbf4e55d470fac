import { Level } from "../../../../gen/gatehouse/v1/common_pb.js";
import type { Role } from "../../../../gen/gatehouse/v1/roles_pb.js";
import type { User } from "../../../../gen/gatehouse/v1/users_pb.js";
import { assignableLevels, outranks } from "../access.js";
import { confirmInline } from "../confirm.js";
import { chips, field, formValues, h, replace, select, table } from "../dom.js";
import { button, errorBox, loadInto, notice, section, type View, type ViewContext } from "../ui.js";
import { levelName } from "./whoami.js";

/**
 * usersView lists the tenant's users and, for a caller with `users.write`,
 * creates them and, for each user below the caller's level (every user for
 * SUPERGOD; never oneself), changes their level, disables or enables them,
 * sets their roles, resets their password and deletes them. Each action's
 * effect is read back from the server.
 */
export function usersView(ctx: ViewContext): View {
  const { api, progress } = ctx;
  const canWrite = ctx.can("users.write");
  const canReadRoles = ctx.can("roles.read");
  const levels = assignableLevels(ctx);
  let roles: Role[] = [];
  const usersBox = h("div", { id: "users-list" });
  const status = h("div", { id: "users-status", "aria-live": "polite" });
  const createStatus = h("div", { id: "create-user-status", "aria-live": "polite" });
  const roleChoices = h("fieldset", { class: "checks", id: "create-user-roles" }, h("legend", {}, "Roles"));

  const roleCheckboxes = (name: string, checked: readonly string[]) =>
    roles.map((r) => h("label", { class: "check" }, h("input", { type: "checkbox", name, value: r.roleId, checked: checked.includes(r.roleId) }), r.name));

  const loadRoles = async () => {
    if (!canReadRoles) return;
    try {
      roles = (await api.roles.listRoles({ pageSize: 1000 })).roles;
      replace(roleChoices, h("legend", {}, "Roles"), roleCheckboxes("roleIds", []));
    } catch (err) {
      replace(roleChoices, h("legend", {}, "Roles"), errorBox(err, "List roles"));
    }
  };

  /** done shows what an action did and reloads the list. */
  const done = (message: string) => () => {
    replace(status, notice("ok", message));
    void loadUsers();
  };
  const failed = (what: string) => (err: unknown) => replace(status, errorBox(err, what));

  /** inlineForm replaces a cell's content with a small form; Cancel reloads the list. */
  const inlineForm = (cell: HTMLElement, label: string, controls: HTMLElement[], onSubmit: (form: HTMLFormElement, submit: HTMLButtonElement) => void) => {
    const submit = h("button", { type: "submit", class: "small primary" }, label);
    const form = h("form", { class: "inline-form" }, controls, submit, " ", button("Cancel", () => void loadUsers(), { class: "small" }));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      onSubmit(form, submit);
    });
    replace(cell, form);
    form.querySelector<HTMLElement>("input, select")?.focus();
  };

  const editRoles = (user: User, cell: HTMLElement) =>
    inlineForm(cell, "Save roles", [h("span", { class: "checks bare" }, roleCheckboxes("roleIds", user.roleIds))], (form, submit) => {
      const roleIds = (formValues(form).roleIds ?? "").split(",").filter(Boolean);
      void progress.run("Saving roles", () => api.users.setUserRoles({ userId: user.userId, roleIds }), submit).then(done(`Saved the roles of ${user.username}.`), failed("Assign roles"));
    });

  const editLevel = (user: User, cell: HTMLElement) =>
    inlineForm(cell, "Save level", [field("New level", select("level", levels.map((l) => [String(l), levelName(l)]), String(user.level), { "data-level-of": user.username }))], (form, submit) => {
      const level = Number(formValues(form).level) as Level;
      void progress.run("Changing level", () => api.users.updateUser({ userId: user.userId, level }), submit).then(done(`${user.username} is now ${levelName(level)}.`), failed("Change level"));
    });

  const resetPassword = (user: User, cell: HTMLElement) =>
    inlineForm(cell, "Set password", [field("New password", h("input", { name: "newPassword", type: "password", required: true, autocomplete: "new-password", "data-password-of": user.username }))], (form, submit) => {
      const newPassword = formValues(form).newPassword ?? "";
      void progress.run("Resetting password", () => api.users.resetUserPassword({ userId: user.userId, newPassword }), submit).then(
        (res) => done(`New password set for ${user.username}; ${res.sessionsRevoked} session(s) ended.`)(),
        failed("Reset password"),
      );
    });

  const actionsOf = (u: User, rolesCell: HTMLElement, cell: HTMLElement): HTMLElement | string => {
    if (!canWrite || !outranks(ctx, u.level) || u.userId === ctx.me.user?.userId) return "";
    const del = button("Delete…", () => {
      confirmInline(del, `Delete ${u.username}? Their sessions end and they leave every room.`, () => {
        void progress.run("Deleting user", () => api.users.deleteUser({ userId: u.userId })).then(done(`Deleted ${u.username}.`), failed("Delete user"));
      });
    }, { class: "small danger", "data-delete-user": u.username });
    return h(
      "span",
      { class: "row-actions" },
      canReadRoles ? button("Roles…", () => editRoles(u, rolesCell), { class: "small", "data-user": u.username }) : null,
      levels.length > 0 ? button("Level…", () => editLevel(u, cell), { class: "small", "data-level-user": u.username }) : null,
      button(u.disabled ? "Enable" : "Disable", () => {
        void progress.run(u.disabled ? "Enabling user" : "Disabling user", () => api.users.updateUser({ userId: u.userId, disabled: !u.disabled })).then(
          done(`${u.username} is ${u.disabled ? "enabled" : "disabled"}.`),
          failed(u.disabled ? "Enable user" : "Disable user"),
        );
      }, { class: "small", "data-toggle-user": u.username }),
      button("Reset password…", () => resetPassword(u, cell), { class: "small", "data-reset-user": u.username }),
      del,
    );
  };

  const loadUsers = () =>
    loadInto(usersBox, "users", () => api.users.listUsers({ pageSize: 1000 }), (res) =>
      table(
        ["Username", "Level", "Roles", "State", ""],
        res.users.map((u) => {
          const rolesCell = h("div", { class: "user-roles" }, chips(u.roleNames, "role"));
          const cell = h("div", { class: "user-actions" });
          replace(cell, actionsOf(u, rolesCell, cell));
          return [
            h("strong", { class: "username", title: u.userId }, u.username),
            h("span", { "data-level": u.username }, levelName(u.level)),
            rolesCell,
            u.disabled ? h("span", { class: "badge warn", "data-state": u.username }, "disabled") : h("span", { "data-state": u.username }, "active"),
            cell,
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
    canReadRoles ? roleChoices : null,
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
  return {
    el: h(
      "div",
      { class: "view", id: "users-view" },
      section("Users", { id: "users" }, status, usersBox),
      canWrite && levels.length > 0 ? section("Create a user", { id: "create-user" }, createStatus, form) : null,
    ),
  };
}
