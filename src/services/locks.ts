import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { LockSchema, type Lock, type LocksService } from "../../gen/gatehouse/v1/locks_pb.js";
import { acquireLock } from "../app/locks/acquire-lock.js";
import { breakLock, refreshLock, releaseLock } from "../app/locks/lease-changes.js";
import type { LockDeps, LockInput } from "../app/locks/lock-deps.js";
import { getLock, listLocks } from "../app/locks/read-locks.js";
import type { LockInfo } from "../locks/lock-manager.js";
import { parseLockTarget } from "../locks/lock-targets.js";
import { answer, callOf } from "./call.js";
import { requestFacts } from "./request-facts.js";
import { pageOf, pageToken } from "./support.js";

/** LocksServiceDeps is what LocksService uses. */
export type LocksServiceDeps = LockDeps;

function lockMessage(info: LockInfo): Lock {
  return create(LockSchema, {
    target: info.target,
    ownerId: info.ownerId,
    ownerName: info.ownerName,
    fencingToken: info.fencingToken,
    acquiredAt: timestampFromDate(info.acquiredAt),
    expiresAt: timestampFromDate(info.expiresAt),
  });
}

/**
 * lockInputOf parses the request's lock and names it in the call's audit
 * record at once, so a refused or failed call's record says which lock too.
 */
function lockInputOf(ctx: HandlerContext, req: { roomId: string; target: string }): LockInput {
  const input = { roomId: req.roomId.toLowerCase(), target: parseLockTarget(req.target) };
  requestFacts(ctx, { resource: input.target.text, roomId: input.roomId });
  return input;
}

/**
 * createLocksService implements LocksService over the lock use cases
 * (src/app/locks): leases from the lock manager (Redlock over the configured
 * Redis nodes, or in-process), fencing tokens and quota counts from
 * lock_targets. Every acquisition, refresh, release and break is audited.
 */
export function createLocksService(deps: LocksServiceDeps): ServiceImpl<typeof LocksService> {
  return {
    async acquireLock(req, ctx) {
      const input = { ...lockInputOf(ctx, req), ttlSeconds: req.ttlSeconds };
      return { lock: lockMessage(answer(ctx, await acquireLock(deps, callOf(ctx), input))) };
    },

    async refreshLock(req, ctx) {
      const input = { ...lockInputOf(ctx, req), ttlSeconds: req.ttlSeconds };
      return { lock: lockMessage(answer(ctx, await refreshLock(deps, callOf(ctx), input))) };
    },

    async releaseLock(req, ctx) {
      answer(ctx, await releaseLock(deps, callOf(ctx), lockInputOf(ctx, req)));
      return {};
    },

    async getLock(req, ctx) {
      const info = await getLock(deps, callOf(ctx), lockInputOf(ctx, req));
      return { lock: info ? lockMessage(info) : undefined };
    },

    async listLocks(req, ctx) {
      const { limit, after } = pageOf(req);
      const page = await listLocks(deps, callOf(ctx), { roomId: req.roomId, limit, ...(after !== undefined ? { after } : {}) });
      return { locks: page.locks.map(lockMessage), nextPageToken: pageToken(page.next) };
    },

    async breakLock(req, ctx) {
      const info = answer(ctx, await breakLock(deps, callOf(ctx), lockInputOf(ctx, req)));
      return { lock: info ? lockMessage(info) : undefined };
    },
  };
}
