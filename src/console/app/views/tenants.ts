import { timestampDate } from "@bufbuild/protobuf/wkt";
import { field, formatTime, formValues, h, replace, table } from "../dom.js";
import { errorBox, loadInto, notice, section, type View, type ViewContext } from "../ui.js";

/**
 * tenantsView lists the platform's tenants and creates one with its first
 * admin (TenantsService, SUPERGOD only: the menu shows it to no one else).
 */
export function tenantsView(ctx: ViewContext): View {
  const { api, progress } = ctx;
  const list = h("div", { id: "tenants-list" });
  const status = h("div", { id: "create-tenant-status", "aria-live": "polite" });
  const load = () =>
    loadInto(list, "tenants", () => api.tenants.listTenants({ pageSize: 1000 }), (res) =>
      table(
        ["Tenant", "Tenant id", "Created"],
        res.tenants.map((t) => [h("strong", { class: "tenant-name" }, t.name), h("code", {}, t.tenantId), formatTime(t.createdAt ? timestampDate(t.createdAt) : undefined)]),
        { id: "tenants-table" },
      ),
    );
  const submit = h("button", { type: "submit", class: "primary", id: "create-tenant-submit" }, "Create tenant");
  const form = h(
    "form",
    { id: "create-tenant-form", class: "grid-form" },
    field("Name", h("input", { name: "name", id: "new-tenant-name", required: true, autocomplete: "off", pattern: "[a-z0-9][a-z0-9_.\\-]{2,63}" }), "lowercase, 3–64 characters"),
    field("First admin's username", h("input", { name: "adminUsername", id: "new-tenant-admin", required: true, autocomplete: "off" })),
    field("First admin's password", h("input", { name: "adminPassword", id: "new-tenant-password", type: "password", required: true, autocomplete: "new-password" })),
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    const request = { name: v.name ?? "", adminUsername: v.adminUsername ?? "", adminPassword: v.adminPassword ?? "" };
    void progress.run("Creating tenant", () => api.tenants.createTenant(request), submit).then(
      (res) => {
        replace(status, notice("ok", `Created tenant ${res.tenant?.name ?? request.name} with its admin ${res.adminUser?.username ?? request.adminUsername}.`));
        form.reset();
        void load();
      },
      (err: unknown) => replace(status, errorBox(err, "Create tenant")),
    );
  });
  void load();
  return {
    el: h("div", { class: "view", id: "tenants-view" }, section("Tenants", { id: "tenants" }, list), section("Create a tenant", { id: "create-tenant" }, status, form)),
  };
}
