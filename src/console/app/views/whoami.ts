import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Level } from "../../../../gen/gatehouse/v1/common_pb.js";
import { chips, field, formatTime, formValues, h, replace } from "../dom.js";
import { errorBox, notice, section, type View, type ViewContext } from "../ui.js";

/** levelName renders a Level as its name (SUPERGOD). */
export function levelName(level: Level): string {
  return Level[level] ?? String(level);
}

/**
 * changePasswordForm changes the caller's own password (ChangePassword, open
 * to everyone signed in). The server ends the caller's other sessions.
 */
function changePasswordForm(ctx: ViewContext): HTMLElement {
  const status = h("div", { id: "change-password-status", "aria-live": "polite" });
  const submit = h("button", { type: "submit", id: "change-password-submit" }, "Change password");
  const form = h(
    "form",
    { id: "change-password-form", class: "grid-form" },
    field("Current password", h("input", { name: "oldPassword", id: "old-password", type: "password", required: true, autocomplete: "current-password" })),
    field("New password", h("input", { name: "newPassword", id: "my-new-password", type: "password", required: true, autocomplete: "new-password" })),
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    void ctx.progress.run("Changing password", () => ctx.api.users.changePassword({ oldPassword: v.oldPassword ?? "", newPassword: v.newPassword ?? "" }), submit).then(
      () => {
        form.reset();
        replace(status, notice("ok", "Password changed. Your other sessions have ended."));
      },
      (err: unknown) => replace(status, errorBox(err, "Change password")),
    );
  });
  return h("div", {}, status, form);
}

/** whoAmIView shows the caller: user, tenant, level, roles, permissions, session expiry; and changes their password. */
export function whoAmIView(ctx: ViewContext): View {
  const { me } = ctx;
  const row = (label: string, value: HTMLElement | string) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, value));
  return {
    el: h("div", { class: "view", id: "whoami-view" }, section(
      "Who am I",
      { id: "whoami" },
      h(
        "table",
        { class: "facts" },
        h(
          "tbody",
          {},
          row("User", h("span", { id: "whoami-username" }, me.user?.username ?? "")),
          row("User id", h("code", {}, me.user?.userId ?? "")),
          row("Tenant id", h("code", {}, me.tenantId)),
          row("Level", h("span", { id: "whoami-level", class: "badge level" }, levelName(me.level))),
          row("Roles", chips(me.roles, "role")),
          row("Session expires", formatTime(me.sessionExpiresAt ? timestampDate(me.sessionExpiresAt) : undefined)),
        ),
      ),
      h("h3", {}, `Permissions (${me.permissions.length})`),
      h("div", { id: "whoami-permissions" }, chips(me.permissions, "perm")),
    ), section("Change my password", { id: "change-password" }, changePasswordForm(ctx))),
  };
}
