import type { Violation } from "../../../gen/gatehouse/v1/common_pb.js";
import { h, replace } from "./dom.js";

/**
 * CodeEditor is a plain <textarea> with a line-number gutter that marks the
 * lines with violations, and a list of the violations (line, column,
 * message, rule) that moves the caret to each one when clicked.
 */
export interface CodeEditor {
  el: HTMLElement;
  textarea: HTMLTextAreaElement;
  /** value answers the code. */
  value(): string;
  /** setValue replaces the code (clearing the markers). */
  setValue(code: string): void;
  /** setReadOnly locks or unlocks editing. */
  setReadOnly(readOnly: boolean): void;
  /** mark shows violations (an empty list clears them). */
  mark(violations: readonly Violation[], checked: boolean): void;
}

/** offsetOf answers the string index of a 1-based line and column. */
function offsetOf(code: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = code.indexOf("\n", offset);
    if (next < 0) return code.length;
    offset = next + 1;
  }
  return Math.min(code.length, offset + Math.max(0, column - 1));
}

/** createCodeEditor builds a CodeEditor; `onInput` runs after every edit. */
export function createCodeEditor(onInput: () => void): CodeEditor {
  const gutter = h("div", { class: "gutter", "aria-hidden": "true" });
  const textarea = h("textarea", { id: "macro-code", class: "code", spellcheck: "false", wrap: "off", autocomplete: "off", "aria-label": "Macro code", "aria-describedby": "macro-code-keys" });
  const keys = h("p", { id: "macro-code-keys", class: "hint" }, "Tab indents; press Escape, then Tab, to leave the code.");
  const list = h("div", { id: "violations", "aria-live": "polite" });
  let marks = new Map<number, string>();

  const renderGutter = () => {
    const lines = textarea.value.split("\n").length;
    replace(
      gutter,
      Array.from({ length: lines }, (_, i) => {
        const message = marks.get(i + 1);
        return h("div", { class: message ? "ln error" : "ln", title: message, "data-line": i + 1 }, String(i + 1));
      }),
    );
    gutter.scrollTop = textarea.scrollTop;
  };
  textarea.addEventListener("input", () => {
    renderGutter();
    onInput();
  });
  textarea.addEventListener("scroll", () => {
    gutter.scrollTop = textarea.scrollTop;
  });
  // Tab indents instead of leaving the editor; Escape first lets the next Tab leave it
  // (so the keyboard is never trapped), as does Shift+Tab backwards.
  let leaving = false;
  textarea.addEventListener("blur", () => {
    leaving = false;
  });
  textarea.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      leaving = true;
      return;
    }
    if (ev.key !== "Tab") {
      leaving = false;
      return;
    }
    if (ev.shiftKey || textarea.readOnly || leaving) return;
    ev.preventDefault();
    textarea.setRangeText("  ", textarea.selectionStart, textarea.selectionEnd, "end");
    textarea.dispatchEvent(new Event("input"));
  });

  return {
    el: h("div", { class: "code-editor" }, h("div", { class: "editor-frame" }, gutter, textarea), keys, list),
    textarea,
    value: () => textarea.value,
    setValue(code) {
      textarea.value = code;
      marks = new Map();
      replace(list);
      renderGutter();
    },
    setReadOnly(readOnly) {
      textarea.readOnly = readOnly;
      textarea.classList.toggle("readonly", readOnly);
    },
    mark(violations, checked) {
      marks = new Map();
      for (const v of violations) marks.set(v.line, [marks.get(v.line), `column ${v.column}: ${v.message}`].filter(Boolean).join("\n"));
      renderGutter();
      if (violations.length === 0) {
        replace(list, checked ? h("p", { class: "valid", id: "validation-ok" }, "✓ No problems found.") : null);
        return;
      }
      replace(
        list,
        h(
          "ul",
          { class: "violations" },
          violations.map((v) =>
            h(
              "li",
              { class: "violation", "data-line": v.line, "data-column": v.column },
              h(
                "button",
                {
                  type: "button",
                  class: "link",
                  onclick: () => {
                    const at = offsetOf(textarea.value, v.line, v.column);
                    textarea.focus();
                    textarea.setSelectionRange(at, at);
                  },
                },
                `Line ${v.line}, column ${v.column}`,
              ),
              `: ${v.message}`,
              v.rule ? h("span", { class: "rule" }, ` (${v.rule})`) : null,
            ),
          ),
        ),
      );
    },
  };
}
