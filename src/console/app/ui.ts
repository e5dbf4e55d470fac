import { Code } from "@connectrpc/connect";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { GetServerInfoResponse, WhoAmIResponse } from "../../../gen/gatehouse/v1/auth_pb.js";
import type { Api } from "./api.js";
import { failureOf } from "./api.js";
import { formatTime, h, replace, type Child } from "./dom.js";
import { track } from "./in-flight.js";

export { settled, track } from "./in-flight.js";

/**
 * Shared pieces of the console's screens: the progress indicator, error
 * and notice boxes, and the context every view receives.
 */

/** Progress drives the top progress bar (and a button's busy state) while work is in flight. */
export interface Progress {
  /** run shows `label` in the progress bar until `work` settles; `button` is disabled meanwhile. */
  run<T>(label: string, work: () => Promise<T>, button?: HTMLButtonElement | null): Promise<T>;
}

/** createProgress binds a Progress to the bar element (`hidden` while idle, `aria-busy` while busy). */
export function createProgress(bar: HTMLElement, label: HTMLElement): Progress {
  const active = new Map<number, string>();
  let next = 0;
  const render = () => {
    const labels = [...active.values()];
    bar.hidden = labels.length === 0;
    bar.setAttribute("aria-busy", labels.length > 0 ? "true" : "false");
    label.textContent = labels.length === 0 ? "" : labels.join(" · ");
  };
  return {
    async run(text, work, button) {
      const id = next++;
      active.set(id, text);
      render();
      const buttonText = button?.textContent;
      if (button) {
        button.disabled = true;
        button.classList.add("busy");
      }
      try {
        return await track(work());
      } finally {
        active.delete(id);
        render();
        if (button) {
          button.disabled = false;
          button.classList.remove("busy");
          button.textContent = buttonText ?? button.textContent;
        }
      }
    },
  };
}

/** ViewContext is what every screen gets: the clients, the caller, the progress bar. */
export interface ViewContext {
  api: Api;
  me: WhoAmIResponse;
  progress: Progress;
  /** can tells whether the caller holds a permission key. */
  can(permission: string): boolean;
  /** state is shared between screens (the room last chosen). */
  state: { roomId?: string };
}

/** View is a rendered screen; dispose stops its timers and releases what it holds. */
export interface View {
  el: HTMLElement;
  dispose?(): void | Promise<void>;
}

/** notice renders a message box of a kind (ok, info, warn, error). */
export function notice(kind: "ok" | "info" | "warn" | "error", ...children: Child[]): HTMLElement {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}

/** notAllowed says, without alarm, that the caller may not see something here, and why. */
export function notAllowed(what: string, why: string): HTMLElement {
  return notice("info", `You cannot see ${what} here: ${why}.`);
}

/**
 * errorBox explains a failed call: UNIMPLEMENTED as "not available on this
 * server yet", and otherwise the code, our error reason and the details
 * that apply (field, limits, lock holder, missing permission).
 */
export function errorBox(err: unknown, what: string): HTMLElement {
  const f = failureOf(err);
  if (f.code === Code.Unimplemented) {
    return notice("info", h("strong", {}, `${what}: not available on this server yet`), " ", h("span", { class: "code" }, "UNIMPLEMENTED"));
  }
  const d = f.detail;
  const facts: Child[] = [];
  if (d?.field) facts.push(h("li", {}, "field ", h("code", {}, d.field), d.attemptedValue ? ` = ${d.attemptedValue}` : "", d.parentValue ? ` (limit ${d.parentValue}${d.layer ? ` from ${d.layer}` : ""})` : ""));
  if (d?.permission) facts.push(h("li", {}, "needs permission ", h("code", {}, d.permission)));
  if (d?.holder) facts.push(h("li", {}, `held by ${d.holder.holderName || d.holder.holderId} until ${formatTime(d.holder.expiresAt ? timestampDate(d.holder.expiresAt) : undefined)}`));
  if (d?.retryAfter) facts.push(h("li", {}, `retry in ${Number(d.retryAfter.seconds)} s`));
  for (const v of d?.violations ?? []) facts.push(h("li", {}, `${v.file ? `${v.file}: ` : ""}line ${v.line}, column ${v.column}: ${v.message}${v.rule ? ` (${v.rule})` : ""}`));
  return notice(
    "error",
    h("strong", {}, `${what} failed`),
    ": ",
    f.message || "error",
    " ",
    h("span", { class: "code" }, [codeLabel(f.code), f.reason && f.reason !== codeLabel(f.code) ? ` · ${f.reason}` : ""].join("")),
    facts.length > 0 ? h("ul", {}, facts) : null,
  );
}

/** codeLabel renders a Connect code as its protocol name (PERMISSION_DENIED). */
export function codeLabel(code: Code): string {
  return (Code[code] ?? "Unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/**
 * loadInto shows "loading" in `target`, then what `render` builds from the
 * result of `load`, or an error box (UNIMPLEMENTED shown as such).
 */
export async function loadInto<T>(target: HTMLElement, what: string, load: () => Promise<T>, render: (value: T) => Child): Promise<T | undefined> {
  replace(target, h("p", { class: "muted loading" }, `Loading ${what}…`));
  try {
    const value = await track(load());
    replace(target, render(value));
    return value;
  } catch (err) {
    replace(target, errorBox(err, what));
    return undefined;
  }
}

/** section renders a titled card. */
export function section(title: string, attrs: Record<string, string>, ...children: Child[]): HTMLElement {
  return h("section", { class: "card", ...attrs }, h("h2", {}, title), ...children);
}

/** button renders a button that runs `onClick` (type=button unless said otherwise). */
export function button(label: string, onClick: (ev: Event) => void, attrs: Record<string, string | boolean> = {}): HTMLButtonElement {
  return h("button", { type: "button", ...attrs, onclick: onClick }, label);
}

/** DialogOptions describe a modal dialog: its title, body and the label of its confirming button. */
export interface DialogOptions {
  /** id is the dialog element's id (tests and labels use it). */
  id: string;
  title: string;
  body: Child;
  confirmLabel: string;
  /** danger styles the confirming button as destructive. */
  danger?: boolean;
  /**
   * onConfirm runs when the confirming button is pressed; the dialog stays
   * open (and its status shows the error) while it throws, and closes when
   * it resolves. Without it, confirming just closes.
   */
  onConfirm?: (status: HTMLElement) => Promise<void>;
}

/**
 * openDialog shows a modal <dialog> (focus moves into it, Escape or
 * "Cancel" closes it, the page behind is inert) and answers true once the
 * confirming button has done its work, false when cancelled. Focus goes
 * back to where it was.
 */
export function openDialog(progress: Progress, options: DialogOptions): Promise<boolean> {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const titleId = `${options.id}-title`;
  const status = h("div", { class: "dialog-status", "aria-live": "polite" });
  const confirm = h("button", { type: "button", class: options.danger ? "danger solid" : "primary", id: `${options.id}-confirm` }, options.confirmLabel);
  const cancel = h("button", { type: "button", id: `${options.id}-cancel` }, "Cancel");
  const dialog = h(
    "dialog",
    { id: options.id, class: "dialog", "aria-labelledby": titleId },
    h("h2", { id: titleId }, options.title),
    h("div", { class: "dialog-body" }, options.body),
    status,
    h("div", { class: "actions dialog-actions" }, cancel, confirm),
  );
  return new Promise<boolean>((resolve) => {
    let confirmed = false;
    const finish = () => {
      dialog.remove();
      opener?.focus();
      resolve(confirmed);
    };
    dialog.addEventListener("close", finish, { once: true });
    cancel.addEventListener("click", () => dialog.close());
    confirm.addEventListener("click", () => {
      if (!options.onConfirm) {
        confirmed = true;
        dialog.close();
        return;
      }
      replace(status);
      void progress.run(options.title, () => options.onConfirm!(status), confirm).then(
        () => {
          confirmed = true;
          dialog.close();
        },
        (err: unknown) => replace(status, errorBox(err, options.confirmLabel)),
      );
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    // Destructive dialogs start on "Cancel", so Enter does not delete by accident.
    (options.danger ? cancel : confirm).focus();
  });
}

/** serverInfoCache keeps one GetServerInfo answer per client: the limits do not change while the page lives. */
const serverInfoCache = new WeakMap<Api, Promise<GetServerInfoResponse | undefined>>();

/** serverInfoOf answers the server's limits (lease range, policy bounds), or undefined when the call fails. */
export function serverInfoOf(api: Api): Promise<GetServerInfoResponse | undefined> {
  let info = serverInfoCache.get(api);
  if (!info) {
    info = api.auth.getServerInfo({}).catch(() => {
      serverInfoCache.delete(api); // ask again next time
      return undefined;
    });
    serverInfoCache.set(api, info);
  }
  return info;
}

/**
 * collapsibleNav wraps the section links in a disclosure that a "Menu"
 * button opens on narrow screens (the stylesheet shows the links inline on
 * wide ones, and hides the button). Following a link or pressing Escape
 * closes it.
 */
export function collapsibleNav(nav: HTMLElement): HTMLElement {
  if (!nav.id) nav.id = "nav";
  const toggle = h("button", { type: "button", class: "nav-toggle", id: "nav-toggle", "aria-expanded": "false", "aria-controls": nav.id }, h("span", { class: "nav-toggle-icon", "aria-hidden": "true" }), "Menu");
  const wrap = h("div", { class: "nav-wrap" }, toggle, nav);
  const setOpen = (open: boolean) => {
    toggle.setAttribute("aria-expanded", String(open));
    wrap.classList.toggle("open", open);
  };
  toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
  nav.addEventListener("click", (ev) => {
    if (ev.target instanceof HTMLAnchorElement) setOpen(false);
  });
  wrap.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && wrap.classList.contains("open")) {
      setOpen(false);
      toggle.focus();
    }
  });
  return wrap;
}
