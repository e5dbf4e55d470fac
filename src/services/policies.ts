import type { ServiceImpl } from "@connectrpc/connect";
import { PoliciesService } from "../../gen/gatehouse/v1/policies_pb.js";
import type { ManagedUsers, PoliciesDeps } from "../app/policies/policies-deps.js";
import { getEffectivePolicy, getGlobalPolicy, getMacroPolicy, getRoomPolicy, getUserPolicy } from "../app/policies/read-layers.js";
import { deleteUserPolicy, updateUserPolicy } from "../app/policies/user-overrides.js";
import { updateGlobalPolicy, updateMacroPolicy, updateRoomPolicy } from "../app/policies/write-layers.js";
import { notFound } from "../domain/errors.js";
import { policyMessageOf, policyValuesOfMessage } from "../policies/policy-codec.js";
import { lockTargetUser } from "../store/user-targets.js";
import { answer, callOf } from "./call.js";
import { callerNow, requireOutranks } from "./grants.js";
import { requestFacts } from "./request-facts.js";

/**
 * managedUsersOverGrants checks a change of a user's override as
 * UsersService.UpdateUser does: the caller, as the database says now, must
 * be strictly above the user (SUPERGOD exempt), whose row stays locked.
 */
export const managedUsersOverGrants: ManagedUsers = {
  async requireManaged(tx, principal, userId) {
    const caller = await callerNow(tx, principal);
    const target = await lockTargetUser(tx, userId);
    if (!target) throw notFound("user");
    requireOutranks(caller, target.level);
  },
};

/**
 * createPoliciesService implements PoliciesService over the policy layer use
 * cases (src/app/policies/): four layers (global → room → macro → user) and
 * the effective-policy cache, invalidated on every replica after each write.
 */
export function createPoliciesService(deps: PoliciesDeps): ServiceImpl<typeof PoliciesService> {
  return {
    async getGlobalPolicy(_req, ctx) {
      return { policy: policyMessageOf(await getGlobalPolicy(deps, callOf(ctx))) };
    },

    async updateGlobalPolicy(req, ctx) {
      requestFacts(ctx, { resource: "policy:global" });
      return { policy: policyMessageOf(answer(ctx, await updateGlobalPolicy(deps, callOf(ctx), policyValuesOfMessage(req.policy)))) };
    },

    async getRoomPolicy(req, ctx) {
      return { policy: policyMessageOf(await getRoomPolicy(deps, callOf(ctx), req.roomId.toLowerCase())) };
    },

    async updateRoomPolicy(req, ctx) {
      const input = { roomId: req.roomId.toLowerCase(), policy: policyValuesOfMessage(req.policy) };
      requestFacts(ctx, { resource: `room:${input.roomId}`, roomId: input.roomId });
      return { policy: policyMessageOf(answer(ctx, await updateRoomPolicy(deps, callOf(ctx), input))) };
    },

    async getMacroPolicy(req, ctx) {
      return { policy: policyMessageOf(await getMacroPolicy(deps, callOf(ctx), { roomId: req.roomId.toLowerCase(), macroId: req.macroId.toLowerCase() })) };
    },

    async updateMacroPolicy(req, ctx) {
      const input = { roomId: req.roomId.toLowerCase(), macroId: req.macroId.toLowerCase(), policy: policyValuesOfMessage(req.policy), fencingToken: req.fencingToken };
      requestFacts(ctx, { resource: `macro:${input.macroId}`, roomId: input.roomId });
      return { policy: policyMessageOf(answer(ctx, await updateMacroPolicy(deps, callOf(ctx), input))) };
    },

    async getUserPolicy(req, ctx) {
      const override = await getUserPolicy(deps, callOf(ctx), req.userId.toLowerCase());
      return { policy: override === undefined ? undefined : policyMessageOf(override) };
    },

    async updateUserPolicy(req, ctx) {
      const input = { userId: req.userId.toLowerCase(), policy: policyValuesOfMessage(req.policy) };
      requestFacts(ctx, { resource: `user:${input.userId}` });
      return { policy: policyMessageOf(answer(ctx, await updateUserPolicy(deps, callOf(ctx), input))) };
    },

    async deleteUserPolicy(req, ctx) {
      const userId = req.userId.toLowerCase();
      requestFacts(ctx, { resource: `user:${userId}` });
      answer(ctx, await deleteUserPolicy(deps, callOf(ctx), userId));
      return {};
    },

    async getEffectivePolicy(req, ctx) {
      const input = { roomId: req.roomId.toLowerCase(), macroId: req.macroId?.toLowerCase(), userId: req.userId?.toLowerCase() };
      const merged = await getEffectivePolicy(deps, callOf(ctx), input);
      return { policy: policyMessageOf(merged.policy), sources: { ...merged.sources } };
    },
  };
}
