import type { ServiceImpl } from "@connectrpc/connect";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { Policy } from "../../gen/gatehouse/v1/common_pb.js";
import { PoliciesService } from "../../gen/gatehouse/v1/policies_pb.js";
import type { Principal } from "../context.js";
import type { Deps } from "../deps.js";
import { DomainError, invalidArgument, notFound, permissionDenied } from "../domain/errors.js";
import { checkTightenOnly, validatePolicy, type TightenProblem } from "../domain/policy-check.js";
import { mergePolicies, userLayerBound, type MergedPolicy } from "../domain/policy-merge.js";
import { policyFieldValue, policyFields, type PolicyFieldName, type PolicyValues } from "../domain/policy.js";
import type { MacroPolicyHooks } from "../policies/macro-hooks.js";
import { createMacroPolicyHooks } from "../macros/macro-policy-hooks.js";
import { normalizePolicy, policyFromJson, policyMessageOf, policyToJson, policyValuesOfMessage } from "../policies/policy-codec.js";
import { lockTargetUser } from "../store/user-targets.js";
import { callerNow, requireOutranks } from "./grants.js";
import { actorUuid, afterCommit, auditNoteOf, inCallerTenant, principalOf, transactionOf } from "./support.js";

/** PoliciesServiceOptions tune createPoliciesService. */
export interface PoliciesServiceOptions {
  /** macroHooks check a macro's existence and lock (default: the macros module's). */
  macroHooks?: MacroPolicyHooks;
}


/** readLayer reads, validates and normalizes a layer sent by the caller. */
function readLayer(message: Policy | undefined, layer: "global" | "room" | "macro" | "user"): PolicyValues {
  const values = policyValuesOfMessage(message);
  const problem = validatePolicy(values, layer)[0];
  if (problem) throw invalidArgument(problem.field, problem.message, problem.attempted);
  return normalizePolicy(values);
}

/**
 * loosens answers INVALID_ARGUMENT `POLICY_LOOSENS` for the first field that
 * loosens its parent, with attempted_value, parent_value and, as `layer`,
 * the layer that holds the parent's value.
 */
function loosens(problems: readonly TightenProblem[], layerOf: (field: PolicyFieldName) => string, what: string): DomainError {
  const first = problems[0]!;
  const others = problems.slice(1).map((p) => p.field);
  const extra = first.notCovered && first.notCovered.length > 0 ? ` (${JSON.stringify(first.notCovered)} not allowed above)` : "";
  return new DomainError(
    "invalid_argument",
    "POLICY_LOOSENS",
    `${first.field}: ${first.attempted} is looser than ${what} ${first.parent}${extra}${others.length > 0 ? `; also ${others.join(", ")}` : ""}`,
    { field: first.field, attemptedValue: first.attempted, parentValue: first.parent, layer: layerOf(first.field) },
  );
}

async function readGlobal(em: EntityManager): Promise<PolicyValues> {
  const rows = (await em.execute("select policy from global_policy where id")) as Array<{ policy: unknown }>;
  return policyFromJson(rows[0]?.policy);
}

async function readRoomLayer(em: EntityManager, roomId: string): Promise<PolicyValues> {
  const rows = (await em.execute("select r.id, p.policy from rooms r left join room_policies p on p.room_id = r.id where r.id = ?", [roomId])) as Array<{
    policy: unknown;
  }>;
  if (!rows[0]) throw notFound("room");
  return policyFromJson(rows[0].policy);
}

async function requireUser(em: EntityManager, userId: string): Promise<void> {
  const rows = (await em.execute("select id from users where id = ?", [userId])) as unknown[];
  if (rows.length === 0) throw notFound("user");
}

/**
 * requireManagedUser is requireUser for a change of a user's override: the
 * caller (as the database says now) must be strictly above the user
 * (SUPERGOD exempt), else PERMISSION_DENIED `LEVEL_TOO_LOW`, as for
 * UsersService.UpdateUser. The user's row stays locked until the call ends.
 */
async function requireManagedUser(em: EntityManager, principal: Principal, userId: string): Promise<void> {
  const caller = await callerNow(em, principal);
  const target = await lockTargetUser(em, userId);
  if (!target) throw notFound("user");
  requireOutranks(caller, target.level);
}

/** looserFields lists, for the audit log, each field of `layer` looser than `parent`, with both values. */
function looserFields(parent: MergedPolicy, layer: PolicyValues): Array<{ field: string; from: string; to: string; layer: string }> {
  return checkTightenOnly(parent.policy, layer).map((p) => ({ field: p.field, from: p.parent, to: p.attempted, layer: parent.sources[p.field] }));
}

/**
 * createPoliciesService implements PoliciesService over the four layers
 * (global → room → macro → user) and the effective-policy cache.
 *
 * - Global (GOD+, from the platform tenant: the table's RLS lets only that
 *   tenant's scope update it): any value, loosening included; it alone may
 *   carry override_ceiling.
 * - Room (room ADMIN) and macro (room EDITOR) layers may only tighten the
 *   merge of the layers above them: INVALID_ARGUMENT `POLICY_LOOSENS` naming
 *   the field, the attempted value, the parent's value and its layer.
 * - User overrides (tenant ADMIN+) may loosen the global merge only up to the
 *   global override_ceiling; every write is audited with what it loosened.
 *   Only a caller strictly above the user (SUPERGOD exempt) may set or
 *   delete their override (LEVEL_TOO_LOW otherwise).
 * - Every write invalidates the cached effective policies on every replica
 *   once committed.
 */
export function createPoliciesService(deps: Deps, options: PoliciesServiceOptions = {}): ServiceImpl<typeof PoliciesService> {
  const hooks = options.macroHooks ?? createMacroPolicyHooks(deps);

  return {
    async getGlobalPolicy(_req, ctx) {
      return { policy: policyMessageOf(await inCallerTenant(ctx, deps, readGlobal)) };
    },

    async updateGlobalPolicy(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "policies.update_global";
      note.resource = "policy:global";
      const values = readLayer(req.policy, "global");
      const tx = transactionOf(ctx);
      const before = await readGlobal(tx);
      const rows = (await tx.execute("update global_policy set policy = ?::jsonb, updated_at = now(), updated_by = ? where id returning id", [
        JSON.stringify(policyToJson(values)),
        actorUuid(principal),
      ])) as unknown[];
      if (rows.length === 0) {
        throw permissionDenied("PLATFORM_TENANT_ONLY", "the global policy is edited from the platform's default tenant only", { layer: "global" });
      }
      note.details = {
        before: policyToJson(before),
        after: policyToJson(values),
        loosened: looserFields(mergePolicies([{ name: "global", policy: before }]), values),
      };
      afterCommit(ctx, () => deps.policies.invalidate({ kind: "global" }));
      return { policy: policyMessageOf(values) };
    },

    async getRoomPolicy(req, ctx) {
      const roomId = req.roomId.toLowerCase();
      return { policy: policyMessageOf(await inCallerTenant(ctx, deps, (em) => readRoomLayer(em, roomId))) };
    },

    async updateRoomPolicy(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "policies.update_room";
      const roomId = req.roomId.toLowerCase();
      note.resource = `room:${roomId}`;
      note.roomId = roomId;
      const values = readLayer(req.policy, "room");
      const tx = transactionOf(ctx);
      const before = await readRoomLayer(tx, roomId);
      const parent = mergePolicies([{ name: "global", policy: await readGlobal(tx) }]);
      const problems = checkTightenOnly(parent.policy, values);
      if (problems.length > 0) throw loosens(problems, (field) => parent.sources[field], "the global policy's");
      await tx.execute(
        `insert into room_policies (tenant_id, room_id, policy, updated_by) values (?, ?, ?::jsonb, ?)
         on conflict (room_id) do update set policy = excluded.policy, updated_at = now(), updated_by = excluded.updated_by`,
        [principal.tenantId, roomId, JSON.stringify(policyToJson(values)), actorUuid(principal)],
      );
      note.details = { before: policyToJson(before), after: policyToJson(values) };
      afterCommit(ctx, () => deps.policies.invalidate({ kind: "room", tenantId: principal.tenantId, roomId }));
      return { policy: policyMessageOf(values) };
    },

    async getMacroPolicy(req, ctx) {
      const principal = principalOf(ctx);
      const roomId = req.roomId.toLowerCase();
      const macroId = req.macroId.toLowerCase();
      const values = await inCallerTenant(ctx, deps, async (em) => {
        if (!(await hooks.macroExists(em, principal.tenantId, roomId, macroId))) throw notFound("macro");
        const rows = (await em.execute("select policy from macro_policies where room_id = ? and macro_id = ?", [roomId, macroId])) as Array<{ policy: unknown }>;
        return policyFromJson(rows[0]?.policy);
      });
      return { policy: policyMessageOf(values) };
    },

    async updateMacroPolicy(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "policies.update_macro";
      const roomId = req.roomId.toLowerCase();
      const macroId = req.macroId.toLowerCase();
      note.resource = `macro:${macroId}`;
      note.roomId = roomId;
      const values = readLayer(req.policy, "macro");
      const tx = transactionOf(ctx);
      if (!(await hooks.macroExists(tx, principal.tenantId, roomId, macroId))) throw notFound("macro");
      const lock = await hooks.checkMacroWrite({ em: tx, principal, tenantId: principal.tenantId, roomId, macroId, fencingToken: req.fencingToken });
      const parent = mergePolicies([
        { name: "global", policy: await readGlobal(tx) },
        { name: "room", policy: await readRoomLayer(tx, roomId) },
      ]);
      const problems = checkTightenOnly(parent.policy, values);
      if (problems.length > 0) throw loosens(problems, (field) => parent.sources[field], "the room's merged policy's");
      const existing = (await tx.execute("select policy, fencing_token::text as fencing_token from macro_policies where room_id = ? and macro_id = ? for update", [
        roomId,
        macroId,
      ])) as Array<{ policy: unknown; fencing_token: string }>;
      const stored = BigInt(existing[0]?.fencing_token ?? "0");
      if (lock.fencingToken !== undefined && lock.fencingToken < stored) {
        throw new DomainError("failed_precondition", "STALE_FENCING_TOKEN", "a newer lock holder has written this macro's policy", {
          field: "fencing_token",
          attemptedValue: lock.fencingToken.toString(),
          parentValue: stored.toString(),
        });
      }
      const token = lock.fencingToken !== undefined && lock.fencingToken > stored ? lock.fencingToken : stored;
      await tx.execute(
        `insert into macro_policies (tenant_id, room_id, macro_id, policy, fencing_token, updated_by) values (?, ?, ?, ?::jsonb, ?, ?)
         on conflict (room_id, macro_id) do update
           set policy = excluded.policy, fencing_token = excluded.fencing_token, updated_at = now(), updated_by = excluded.updated_by`,
        [principal.tenantId, roomId, macroId, JSON.stringify(policyToJson(values)), token.toString(), actorUuid(principal)],
      );
      note.details = {
        before: policyToJson(policyFromJson(existing[0]?.policy)),
        after: policyToJson(values),
        fencingToken: lock.fencingToken?.toString() ?? null,
      };
      afterCommit(ctx, () => deps.policies.invalidate({ kind: "macro", tenantId: principal.tenantId, roomId, macroId }));
      return { policy: policyMessageOf(values) };
    },

    async getUserPolicy(req, ctx) {
      const userId = req.userId.toLowerCase();
      const override = await inCallerTenant(ctx, deps, async (em) => {
        await requireUser(em, userId);
        const rows = (await em.execute("select policy from user_policies where user_id = ?", [userId])) as Array<{ policy: unknown }>;
        return rows[0] ? policyFromJson(rows[0].policy) : undefined;
      });
      return { policy: override === undefined ? undefined : policyMessageOf(override) };
    },

    async updateUserPolicy(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "policies.update_user";
      const userId = req.userId.toLowerCase();
      note.resource = `user:${userId}`;
      const values = readLayer(req.policy, "user");
      const tx = transactionOf(ctx);
      await requireManagedUser(tx, principal, userId);
      const global = await readGlobal(tx);
      const upper = mergePolicies([{ name: "global", policy: global }]);
      const ceiling = global.overrideCeiling;
      const bound = userLayerBound(upper.policy, ceiling);
      const problems = checkTightenOnly(bound, values);
      if (problems.length > 0) {
        const layerOf = (name: PolicyFieldName) => {
          const field = policyFields.find((f) => f.name === name)!;
          return ceiling !== undefined && policyFieldValue(ceiling, field) !== undefined ? "global.override_ceiling" : upper.sources[name];
        };
        throw loosens(problems, layerOf, "the global override_ceiling allows:");
      }
      const existing = (await tx.execute("select policy from user_policies where user_id = ? for update", [userId])) as Array<{ policy: unknown }>;
      await tx.execute(
        `insert into user_policies (tenant_id, user_id, policy, updated_by) values (?, ?, ?::jsonb, ?)
         on conflict (user_id) do update set policy = excluded.policy, updated_at = now(), updated_by = excluded.updated_by`,
        [principal.tenantId, userId, JSON.stringify(policyToJson(values)), actorUuid(principal)],
      );
      note.details = {
        before: existing[0] ? policyToJson(policyFromJson(existing[0].policy)) : null,
        after: policyToJson(values),
        loosened: looserFields(upper, values),
      };
      afterCommit(ctx, () => deps.policies.invalidate({ kind: "user", tenantId: principal.tenantId, userId }));
      return { policy: policyMessageOf(values) };
    },

    async deleteUserPolicy(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "policies.delete_user";
      const userId = req.userId.toLowerCase();
      note.resource = `user:${userId}`;
      const tx = transactionOf(ctx);
      await requireManagedUser(tx, principal, userId);
      const rows = (await tx.execute("delete from user_policies where user_id = ? returning policy", [userId])) as Array<{ policy: unknown }>;
      note.details = { before: rows[0] ? policyToJson(policyFromJson(rows[0].policy)) : null };
      afterCommit(ctx, () => deps.policies.invalidate({ kind: "user", tenantId: principal.tenantId, userId }));
      return {};
    },

    async getEffectivePolicy(req, ctx) {
      const principal = principalOf(ctx);
      const roomId = req.roomId.toLowerCase();
      const macroId = req.macroId === undefined ? undefined : req.macroId.toLowerCase();
      const userId = req.userId === undefined ? undefined : req.userId.toLowerCase();
      const merged = await inCallerTenant(ctx, deps, async (em) => {
        if (macroId !== undefined && !(await hooks.macroExists(em, principal.tenantId, roomId, macroId))) throw notFound("macro");
        const caller = actorUuid(principal) ?? undefined;
        return deps.policies.effectivePolicy(em, {
          tenantId: principal.tenantId,
          roomId,
          macroId,
          userId: userId ?? caller,
          // A room-token caller has no user row: its built-in role's default policy is its user layer.
          roles: userId === undefined && caller === undefined ? principal.roles : undefined,
        });
      });
      return { policy: policyMessageOf(merged.policy), sources: { ...merged.sources } };
    },
  };
}
