import { DomainError, invalidArgument, notFound } from "../../domain/errors.js";
import { checkMacro, type Violation } from "../../domain/macro-check.js";
import { macroNameProblem } from "../../domain/names.js";
import type { LockManager } from "../../locks/lock-manager.js";
import { staleToken, writeToken } from "../../locks/require-lock.js";
import type { MacroCache } from "../../macros/macro-cache.js";
import type { EffectivePolicies } from "../../policies/effective-policy.js";
import type { MacroRecord, MacroStore } from "../../store/macros.js";
import { actorUuid } from "../actor.js";
import { outcome, type Call, type Outcome } from "../call.js";
import { allowedImports } from "./macro-policy.js";

/** MacroUpdate is one macro to create (no macroId) or to change under its lock. */
export interface MacroUpdate {
  macroId?: string;
  name: string;
  code: string;
  /** expectedVersion, when set, must be the stored version (0 for a new macro). */
  expectedVersion?: number;
  /** fencingToken, when set, must be the token of the lock the caller holds. */
  fencingToken?: bigint;
}

export interface UpdateMacrosDeps {
  macros: MacroStore;
  policies: Pick<EffectivePolicies, "effectivePolicy">;
  locks: LockManager;
  macroCache: Pick<MacroCache, "roomChanged">;
}

/** MacroViolation is a problem the AST check found, in the file (macro name) it found it in. */
export type MacroViolation = Violation & { file?: string };

/** astViolation is the refusal of code that breaks the AST rules: every problem, with its file. */
export function astViolation(violations: MacroViolation[]): DomainError {
  return new DomainError("invalid_argument", "AST_VIOLATION", `macro code has ${violations.length} problem(s)`, {
    violations: violations.map((v) => ({ line: v.line, column: v.column, message: v.message, rule: v.rule, file: v.file })),
  });
}

/**
 * updateMacros creates and changes a room's macros, all or nothing: every
 * code is checked against the caller's effective policy (every problem of
 * every macro is reported at once), a change needs the macro's lock and a
 * token no older than the stored one, and bumps its version.
 */
export async function updateMacros(
  deps: UpdateMacrosDeps,
  call: Call,
  input: { roomId: string; macros: readonly MacroUpdate[] },
): Promise<Outcome<MacroRecord[]>> {
  const { principal } = call;
  const { roomId } = input;
  const by = actorUuid(principal);
  const violations: Array<Violation & { file: string }> = [];
  const saved: MacroRecord[] = [];
  const names = new Set<string>();
  await call.inTx(async (tx) => {
    for (const [i, update] of input.macros.entries()) {
      const field = `macros[${i}]`;
      const nameProblem = macroNameProblem(update.name);
      if (nameProblem) throw invalidArgument(`${field}.name`, nameProblem, update.name.slice(0, 128));
      if (names.has(update.name)) throw invalidArgument(`${field}.name`, "appears twice in this call", update.name);
      names.add(update.name);
      const imports = await allowedImports(deps.policies, tx, principal, roomId, update.macroId);
      for (const v of checkMacro(update.code, { allowedImports: imports })) violations.push({ ...v, file: update.name });
      if (violations.length > 0) continue;
      if (update.macroId === undefined) {
        if (update.expectedVersion !== undefined && update.expectedVersion !== 0) {
          throw new DomainError("aborted", "VERSION_CONFLICT", `${field}: a new macro has no version ${update.expectedVersion}`, { field: `${field}.expected_version` });
        }
        saved.push(await deps.macros.insert(tx, { tenantId: principal.tenantId, roomId, name: update.name, code: update.code, by }));
        continue;
      }
      const target = `macro/${update.macroId}`;
      const existing = await deps.macros.byId(tx, roomId, update.macroId, { forUpdate: true });
      if (!existing) throw notFound(`${field} macro`);
      const token = await writeToken(deps.locks, principal, roomId, target, update.fencingToken);
      if (token < existing.fencingToken) throw staleToken(target, token, existing.fencingToken);
      if (update.expectedVersion !== undefined && update.expectedVersion !== existing.version) {
        throw new DomainError("aborted", "VERSION_CONFLICT", `${field}: macro is at version ${existing.version}, not ${update.expectedVersion}`, {
          field: `${field}.expected_version`,
          attemptedValue: String(update.expectedVersion),
          parentValue: String(existing.version),
        });
      }
      // The row is locked: its version is the one to bump.
      saved.push(await deps.macros.saveManualEdit(tx, roomId, update.macroId, { name: update.name, code: update.code, version: existing.version + 1, fencingToken: token, by }));
    }
  });
  if (violations.length > 0) throw astViolation(violations);
  call.afterCommit(() => deps.macroCache.roomChanged(principal.tenantId, roomId));
  return outcome(saved, {
    resource: saved.map((m) => `macro:${m.id}`).join(",").slice(0, 500),
    details: { macros: saved.map((m) => ({ id: m.id, name: m.name, version: m.version, fencingToken: String(m.fencingToken) })) },
  });
}
