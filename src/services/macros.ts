import type { ServiceImpl } from "@connectrpc/connect";
import { MacrosService } from "../../gen/gatehouse/v1/macros_pb.js";
import { deleteMacro, type DeleteMacroDeps } from "../app/macros/delete-macro.js";
import { getMacro, listMacros } from "../app/macros/read-macros.js";
import { createRunLimits } from "../app/macros/run-limits.js";
import { runMacro, type RunMacroDeps } from "../app/macros/run-macro.js";
import { updateMacros, type UpdateMacrosDeps } from "../app/macros/update-macros.js";
import { validateMacro } from "../app/macros/validate-macro.js";
import type { Deps } from "../deps.js";
import type { Value } from "@bufbuild/protobuf/wkt";
import { answered } from "./audited.js";
import { callOf } from "./call.js";
import { encodeRunOutput, macroMessage, runInput, runMacroResponse } from "./macro-messages.js";
import { pageOf, pageToken } from "./support.js";

/** MacrosServiceDeps is what MacrosService uses: its stores and the parts of the server a run reaches. */
export type MacrosServiceDeps = Omit<UpdateMacrosDeps & DeleteMacroDeps & RunMacroDeps<Value>, "limits" | "encodeOutput"> &
  Pick<Deps, "limiters" | "config">;

/**
 * createMacrosService implements MacrosService: storage with versions and
 * fencing tokens, the AST check against the room's effective policy, and
 * runs in the sandbox pool. Each handler maps its request to a use case of
 * src/app/macros and its result back.
 */
export function createMacrosService(deps: MacrosServiceDeps): ServiceImpl<typeof MacrosService> {
  const runDeps: RunMacroDeps<Value> = { ...deps, limits: createRunLimits(deps.limiters, deps.config.runsPerSecond), encodeOutput: encodeRunOutput };
  return {
    async listMacros(req, ctx) {
      const page = await listMacros(deps, callOf(ctx), { roomId: req.roomId.toLowerCase(), page: pageOf(req) });
      return { macros: page.macros.map(macroMessage), nextPageToken: pageToken(page.nextAfter) };
    },

    async getMacro(req, ctx) {
      return { macro: macroMessage(await getMacro(deps, callOf(ctx), { roomId: req.roomId.toLowerCase(), macroId: req.macroId.toLowerCase() })) };
    },

    async updateMacros(req, ctx) {
      const macros = req.macros.map((m) => ({
        macroId: m.macroId?.toLowerCase(),
        name: m.name,
        code: m.code,
        expectedVersion: m.expectedVersion,
        fencingToken: m.fencingToken,
      }));
      const saved = await answered(ctx, updateMacros(deps, callOf(ctx), { roomId: req.roomId.toLowerCase(), macros }));
      return { macros: saved.map(macroMessage) };
    },

    async deleteMacro(req, ctx) {
      await answered(ctx, deleteMacro(deps, callOf(ctx), { roomId: req.roomId.toLowerCase(), macroId: req.macroId.toLowerCase() }));
      return {};
    },

    async validateMacro(req, ctx) {
      const violations = await validateMacro(deps, callOf(ctx), { roomId: req.roomId.toLowerCase(), code: req.code });
      return { violations: violations.map((v) => ({ ...v, file: "" })) };
    },

    async runMacro(req, ctx) {
      const call = callOf(ctx);
      const input = runInput(req.input);
      return runMacroResponse(await answered(ctx, runMacro(runDeps, call, { roomId: req.roomId.toLowerCase(), macroId: req.macroId.toLowerCase(), input })));
    },
  };
}
