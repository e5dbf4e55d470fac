import { notFound } from "../../domain/errors.js";
import type { MacroRecord, MacroStore } from "../../store/macros.js";
import type { Call } from "../call.js";

/** MacroPage is a page of a room's macros and the name the next page starts after, if there is one. */
export interface MacroPage {
  macros: MacroRecord[];
  nextAfter: string | undefined;
}

/** listMacros answers a page of a room's macros in name order. */
export async function listMacros(
  deps: { macros: MacroStore },
  call: Call,
  input: { roomId: string; page: { after: string | undefined; limit: number } },
): Promise<MacroPage> {
  const rows = await call.inTx((tx) => deps.macros.list(tx, input.roomId, { after: input.page.after, limit: input.page.limit + 1 }));
  const shown = rows.slice(0, input.page.limit);
  return { macros: shown, nextAfter: rows.length > input.page.limit ? shown[shown.length - 1]!.name : undefined };
}

/** getMacro answers one macro of a room (NOT_FOUND when there is none). */
export async function getMacro(deps: { macros: MacroStore }, call: Call, input: { roomId: string; macroId: string }): Promise<MacroRecord> {
  const row = await call.inTx((tx) => deps.macros.byId(tx, input.roomId, input.macroId));
  if (!row) throw notFound("macro");
  return row;
}
