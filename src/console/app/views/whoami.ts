import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Level } from "../../../../gen/gatehouse/v1/common_pb.js";
import { chips, formatTime, h } from "../dom.js";
import { section, type View, type ViewContext } from "../ui.js";

/** levelName renders a Level as its name (SUPERGOD). */
export function levelName(level: Level): string {
  return Level[level] ?? String(level);
}

/** whoAmIView shows the caller: user, tenant, level, roles, permissions, session expiry. */
export function whoAmIView(ctx: ViewContext): View {
  const { me } = ctx;
  const row = (label: string, value: HTMLElement | string) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, value));
  return {
    el: section(
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
    ),
  };
}
