import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { EntityManager } from "@mikro-orm/postgresql";
import { MacrosService } from "../../gen/gatehouse/v1/macros_pb.js";
import type { Deps } from "../deps.js";
import { DomainError, invalidArgument, notFound } from "../domain/errors.js";
import { checkMacro, type Violation } from "../domain/macro-check.js";
import { lockScope } from "../locks/lock-targets.js";
import { staleToken, writeToken } from "../locks/require-lock.js";
import { releaseDeletedTarget } from "../store/lock-holdings.js";
import { macroById, macroMessage, macroNameProblem, type MacroRow } from "../macros/macro-rows.js";
import { createMacroRunner } from "../macros/macro-runner.js";
import { actorUuid, afterCommit, auditNoteOf, inCallerTenant, pageOf, pageToken, principalOf, transactionOf } from "./support.js";

function astViolation(violations: Array<Violation & { file?: string }>): DomainError {
  return new DomainError("invalid_argument", "AST_VIOLATION", `macro code has ${violations.length} problem(s)`, {
    violations: violations.map((v) => ({ line: v.line, column: v.column, message: v.message, rule: v.rule, file: v.file })),
  });
}

/**
 * createMacrosService implements MacrosService: storage with versions and
 * fencing tokens, the AST check against the room's effective policy, and
 * runs in the sandbox pool.
 */
export function createMacrosService(deps: Deps): ServiceImpl<typeof MacrosService> {
  const allowedImports = async (em: EntityManager, ctx: HandlerContext, roomId: string, macroId?: string): Promise<readonly string[]> => {
    const principal = principalOf(ctx);
    const merged = await deps.policies.effectivePolicy(em, { tenantId: principal.tenantId, roomId, macroId, userId: principal.via === "room-token" ? undefined : principal.userId, roles: principal.via === "room-token" ? principal.roles : undefined });
    return merged.policy.allowedImports;
  };
  const runner = createMacroRunner(deps);

  return {
    async listMacros(req, ctx) {
      const roomId = req.roomId.toLowerCase();
      const page = pageOf(req);
      const rows = await inCallerTenant(ctx, deps, (em) =>
        em.execute(`select * from macros where room_id = ?${page.after !== undefined ? " and name > ?" : ""} order by name limit ?`, [
          roomId,
          ...(page.after !== undefined ? [page.after] : []),
          page.limit + 1,
        ]),
      ) as MacroRow[];
      const more = rows.length > page.limit;
      const shown = rows.slice(0, page.limit);
      return { macros: shown.map(macroMessage), nextPageToken: more ? pageToken(shown[shown.length - 1]!.name) : "" };
    },

    async getMacro(req, ctx) {
      const roomId = req.roomId.toLowerCase();
      const macroId = req.macroId.toLowerCase();
      const row = await inCallerTenant(ctx, deps, (em) => macroById(em, roomId, macroId));
      if (!row) throw notFound("macro");
      return { macro: macroMessage(row) };
    },

    async updateMacros(req, ctx) {
      const principal = principalOf(ctx);
      const roomId = req.roomId.toLowerCase();
      const tx = transactionOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "macros.update";
      const violations: Array<Violation & { file: string }> = [];
      const saved: MacroRow[] = [];
      const names = new Set<string>();
      for (const [i, update] of req.macros.entries()) {
        const field = `macros[${i}]`;
        const nameProblem = macroNameProblem(update.name);
        if (nameProblem) throw invalidArgument(`${field}.name`, nameProblem, update.name.slice(0, 128));
        if (names.has(update.name)) throw invalidArgument(`${field}.name`, "appears twice in this call", update.name);
        names.add(update.name);
        const macroId = update.macroId !== undefined ? update.macroId.toLowerCase() : undefined;
        const imports = await allowedImports(tx, ctx, roomId, macroId);
        for (const v of checkMacro(update.code, { allowedImports: imports })) violations.push({ ...v, file: update.name });
        if (violations.length > 0) continue;
        if (macroId === undefined) {
          if (update.expectedVersion !== undefined && update.expectedVersion !== 0) {
            throw new DomainError("aborted", "VERSION_CONFLICT", `${field}: a new macro has no version ${update.expectedVersion}`, { field: `${field}.expected_version` });
          }
          const [row] = (await tx.execute(
            "insert into macros (tenant_id, room_id, name, code, created_by, updated_by) values (?, ?, ?, ?, ?, ?) returning *",
            [principal.tenantId, roomId, update.name, update.code, actorUuid(principal), actorUuid(principal)],
          )) as MacroRow[];
          saved.push(row!);
          continue;
        }
        const target = `macro/${macroId}`;
        const existing = await macroById(tx, roomId, macroId, true);
        if (!existing) throw notFound(`${field} macro`);
        const token = await writeToken(deps.locks, principal, roomId, target, update.fencingToken);
        if (token < BigInt(existing.fencing_token)) throw staleToken(target, token, BigInt(existing.fencing_token));
        if (update.expectedVersion !== undefined && update.expectedVersion !== existing.version) {
          throw new DomainError("aborted", "VERSION_CONFLICT", `${field}: macro is at version ${existing.version}, not ${update.expectedVersion}`, {
            field: `${field}.expected_version`,
            attemptedValue: String(update.expectedVersion),
            parentValue: String(existing.version),
          });
        }
        const [row] = (await tx.execute(
          `update macros set name = ?, code = ?, version = version + 1, fencing_token = ?, updated_by = ?, updated_at = now(),
             source_kind = 'manual', source_repo_id = null, source_commit = null, source_path = null
           where room_id = ? and id = ? returning *`,
          [update.name, update.code, token.toString(), actorUuid(principal), roomId, macroId],
        )) as MacroRow[];
        saved.push(row!);
      }
      if (violations.length > 0) throw astViolation(violations);
      afterCommit(ctx, () => deps.macroCache.roomChanged(principal.tenantId, roomId));
      note.resource = saved.map((m) => `macro:${m.id}`).join(",").slice(0, 500);
      note.details = { macros: saved.map((m) => ({ id: m.id, name: m.name, version: m.version, fencingToken: String(m.fencing_token) })) };
      return { macros: saved.map(macroMessage) };
    },

    async deleteMacro(req, ctx) {
      const principal = principalOf(ctx);
      const roomId = req.roomId.toLowerCase();
      const macroId = req.macroId.toLowerCase();
      const tx = transactionOf(ctx);
      const target = `macro/${macroId}`;
      const note = auditNoteOf(ctx);
      note.action = "macros.delete";
      note.resource = `macro:${macroId}`;
      const existing = await macroById(tx, roomId, macroId, true);
      if (!existing) throw notFound("macro");
      const token = await writeToken(deps.locks, principal, roomId, target);
      if (token < BigInt(existing.fencing_token)) throw staleToken(target, token, BigInt(existing.fencing_token));
      await tx.execute("delete from macro_policies where room_id = ? and macro_id = ?", [roomId, macroId]);
      await tx.execute("delete from macros where room_id = ? and id = ?", [roomId, macroId]);
      note.details = { name: existing.name, version: existing.version };
      // The deleted macro's lock goes with it (it no longer counts against the lock quotas).
      await releaseDeletedTarget(tx, roomId, target);
      afterCommit(ctx, () => deps.locks.release(lockScope(principal.tenantId, roomId), target, principal.userId).catch(() => undefined));
      afterCommit(ctx, () => deps.macroCache.roomChanged(principal.tenantId, roomId));
      return {};
    },

    async validateMacro(req, ctx) {
      const roomId = req.roomId.toLowerCase();
      const imports = await inCallerTenant(ctx, deps, (em) => allowedImports(em, ctx, roomId));
      return { violations: checkMacro(req.code, { allowedImports: imports }).map((v) => ({ ...v, file: "" })) };
    },

    runMacro: (req, ctx) => runner.run(req, ctx),
  };
}
