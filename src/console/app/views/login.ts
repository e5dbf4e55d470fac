import { Code } from "@connectrpc/connect";
import type { Api } from "../api.js";
import { failureOf } from "../api.js";
import { field, formValues, h, replace } from "../dom.js";
import { errorBox, notice, type Progress } from "../ui.js";

/**
 * loginView renders the sign-in form. Login in a browser sets the
 * `gh_session` (HttpOnly) and `gh_csrf` cookies; no token is kept in script.
 */
export function loginView(api: Api, progress: Progress, onSignedIn: () => void, message?: string): HTMLElement {
  const status = h("div", { id: "login-status" }, message ? notice("info", message) : null);
  const submit = h("button", { type: "submit", id: "login-submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { id: "login-form", class: "stack", autocomplete: "on" },
    field("Tenant", h("input", { name: "tenant", id: "login-tenant", value: "default", required: true, autocomplete: "organization" })),
    field("Username", h("input", { name: "username", id: "login-username", required: true, autocomplete: "username" })),
    field("Password", h("input", { name: "password", id: "login-password", type: "password", required: true, autocomplete: "current-password" })),
    submit,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    void progress
      .run("Signing in", () => api.auth.login({ tenant: v.tenant ?? "", username: v.username ?? "", password: v.password ?? "" }), submit)
      .then(
        () => onSignedIn(),
        (err: unknown) => {
          const f = failureOf(err);
          replace(
            status,
            f.code === Code.Unauthenticated
              ? notice("error", "Invalid tenant, username or password.")
              : f.code === Code.ResourceExhausted
                ? notice("error", `Too many attempts. Try again in ${Number(f.detail?.retryAfter?.seconds ?? 60n)} s.`)
                : errorBox(err, "Sign in"),
          );
        },
      );
  });
  return h("main", { class: "login" }, h("div", { class: "card login-card" }, h("h1", {}, "Gatehouse"), h("p", { class: "muted" }, "Admin console"), status, form));
}
