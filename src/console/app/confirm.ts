import { h } from "./dom.js";
import { button } from "./ui.js";

/**
 * confirmInline swaps a button for its question and "Confirm / Cancel" in
 * place (no modal, no focus trap): Confirm runs the action, Cancel puts the
 * button back and focuses it.
 */
export function confirmInline(trigger: HTMLButtonElement, question: string, onConfirm: () => void): void {
  const box = h("span", { class: "confirm", role: "group", "aria-label": question });
  const yes = button("Confirm", () => onConfirm(), { class: "small danger", "data-confirm": "yes" });
  const no = button("Cancel", () => {
    box.replaceWith(trigger);
    trigger.focus();
  }, { class: "small" });
  box.append(h("span", {}, question), " ", yes, " ", no);
  trigger.replaceWith(box);
  yes.focus();
}
