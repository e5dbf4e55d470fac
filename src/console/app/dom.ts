/**
 * Small DOM helpers for the console. Everything is built with
 * createElement/textContent: no innerHTML, so server data can never become
 * markup, and no inline styles or handlers, so the strict CSP holds.
 */

/** Child is anything h() accepts as a child: nodes, text, nothing, or nested lists. */
export type Child = Node | string | number | bigint | null | undefined | false | readonly Child[];

/** Attrs are h()'s attributes: `on<event>` listeners, `value`/`checked` properties, booleans toggle. */
export type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

/** h creates an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "value" && "value" in el) {
      (el as HTMLInputElement).value = String(value);
    } else if (name === "checked" && el instanceof HTMLInputElement) {
      el.checked = Boolean(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/** append adds children (flattening lists, skipping empty ones) to a node. */
export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/** replace swaps a node's children for new ones. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, children);
}

/**
 * table builds a table from a header row and body rows (each cell any
 * Child), inside a box of its own that scrolls sideways when the table is
 * wider than the screen (so the page never does). The box is a labelled,
 * focusable region, so a keyboard can scroll it too. Give `aria-label` to
 * name it; otherwise it is named after its columns.
 */
export function table(headers: readonly string[], rows: readonly (readonly Child[])[], attrs: Attrs = {}): HTMLElement {
  const label = typeof attrs["aria-label"] === "string" ? attrs["aria-label"] : `Table of ${headers.filter(Boolean).join(", ").toLowerCase()}`;
  return h(
    "div",
    { class: "table-scroll", role: "region", tabindex: 0, "aria-label": label },
    h(
      "table",
      attrs,
      h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t || h("span", { class: "sr-only" }, "Actions"))))),
      h("tbody", {}, rows.length === 0 ? h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, "nothing here yet")) : rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))),
    ),
  );
}

/** chips renders a list of short strings as tags. */
export function chips(values: readonly string[], kind = ""): HTMLElement {
  if (values.length === 0) return h("span", { class: "muted" }, "none");
  return h("span", { class: "chips" }, values.map((v) => h("span", { class: `chip ${kind}`.trim() }, v)));
}

/** field wraps a labelled form control. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  return h("label", { class: "field" }, h("span", { class: "label" }, label), control, hint ? h("span", { class: "hint" }, hint) : null);
}

/** select builds a <select> from value/label pairs. */
export function select(name: string, options: ReadonlyArray<readonly [string, string]>, selected?: string, attrs: Attrs = {}): HTMLSelectElement {
  return h("select", { name, ...attrs }, options.map(([value, label]) => h("option", { value, selected: value === selected }, label)));
}

/** formValues reads a form's named controls as strings (checkbox groups as comma-joined values). */
export function formValues(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string[]> = {};
  for (const el of Array.from(form.elements)) {
    if (!(el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement) || !el.name || el.disabled) continue;
    if (el instanceof HTMLInputElement && (el.type === "checkbox" || el.type === "radio") && !el.checked) continue;
    (out[el.name] ??= []).push(el.value);
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.join(",")]));
}

/** formatTime renders a date as local date and time, or a dash. */
export function formatTime(date: Date | undefined): string {
  if (!date || Number.isNaN(date.getTime())) return "—";
  return date.toLocaleString(undefined, { year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** formatBytes renders a byte count in B/KiB/MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(2)} MiB`;
}

/** plural renders a count with its noun: "1 macro", "3 macros". */
export function plural(n: number | bigint, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 || n === 1n ? one : many}`;
}
