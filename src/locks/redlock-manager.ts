import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { LockedError, LockRequiredError, LockUnavailableError } from "./errors.js";
import type { FencingCounter } from "./fencing.js";
import { checkTtl, type LockInfo, type LockManager, type LockOwner } from "./lock-manager.js";
import {
  decodeRecord,
  encodeRecord,
  likelyLease,
  lockKey,
  possibleLeases,
  provenLease,
  tallyLeases,
  toLockInfo,
  type LeaseTally,
  type LockRecord,
  type NodeView,
} from "./lock-record.js";
import { countReachable, fanOut, firstError, quorumOf, runScript, type LuaScript, type NodeReply } from "./quorum.js";
import { acquireScript, refreshScript, releaseScript, replaceOwnScript, rollbackScript } from "./redis-scripts.js";

/** RedlockManagerOptions configure createRedlockManager. */
export interface RedlockManagerOptions {
  /** prefix starts every lock key, e.g. `gatehouse:` (tests use a random one). */
  prefix: string;
  /** fencing issues the token of each new acquisition. */
  fencing: FencingCounter;
  /** nodeTimeoutMs bounds each node's answer; a slower node counts as down (default 1000). */
  nodeTimeoutMs?: number;
  /** retryCount is how often an acquire that met a split vote is retried (default 10). */
  retryCount?: number;
  /** retryDelayMs is the pause before such a retry (default 20 ms), plus a random jitter. */
  retryDelayMs?: number;
  /** retryJitterMs is the upper bound of the random jitter added to each pause (default 30 ms). */
  retryJitterMs?: number;
  /**
   * driftFactor is the share of the TTL reserved for clock drift between
   * nodes (default 0.01, plus 2 ms): an acquisition that took longer than the
   * TTL minus that drift is given back and fails.
   */
  driftFactor?: number;
}

/** ScriptAnswer is the `{code, value}` pair the lock scripts answer. */
interface ScriptAnswer {
  code: number;
  value: string | undefined;
}

/** Attempt is the outcome of one acquisition attempt. */
type Attempt = { info: LockInfo } | { error: unknown; retry: boolean };

/**
 * createRedlockManager runs the Redlock algorithm over every client (one per
 * independent Redis master; quorum N/2+1) with lease records that know their
 * owner. Each key holds a JSON LockRecord (owner id and name, fencing token,
 * acquiredAt, expiresAt, and a nonce naming the acquisition); the records are
 * written by Lua scripts that compare-and-set on the owner id, run on every
 * node at once, and counted: an operation succeeds when a quorum of nodes
 * applied it. Reads go to every node too and believe the lease a quorum holds.
 *
 * Acquisition is two-phase: win the key on a quorum (the token-less record
 * blocks everyone else), then take a fencing token while holding it, then
 * stamp the token on the nodes that hold the lease. Tokens are thus issued in
 * the order leases are won. A failed attempt deletes what it wrote (by nonce);
 * a split vote (contenders each holding a minority) is retried after a jittered
 * pause, like redlock.
 *
 * The `redlock` package itself is not used: its acquire stores a random value
 * the caller cannot choose, its scripts answer only a count (no holder), and it
 * resolves at the quorum without waiting for the last node. The same
 * algorithm is implemented here around records that name their owner.
 *
 * The clients belong to the caller; `close` leaves them open.
 */
export function createRedlockManager(clients: readonly Redis[], opts: RedlockManagerOptions): LockManager {
  if (clients.length === 0) throw new Error("createRedlockManager needs at least one Redis client");
  const nodes = [...clients];
  const size = nodes.length;
  const quorum = quorumOf(size);
  const { prefix, fencing } = opts;
  const timeoutMs = opts.nodeTimeoutMs ?? 1000;
  const retryCount = opts.retryCount ?? 10;
  const retryDelayMs = opts.retryDelayMs ?? 20;
  const retryJitterMs = opts.retryJitterMs ?? 30;
  const driftFactor = opts.driftFactor ?? 0.01;
  let closed = false;

  function ensureOpen(): void {
    if (closed) throw new LockUnavailableError("the lock manager is closed");
  }

  /** script runs a lock script on every node and parses the `{code, value}` answers. */
  function script(source: LuaScript, key: string, args: (string | number)[]): Promise<NodeReply<ScriptAnswer>[]> {
    return fanOut(nodes, timeoutMs, async (c) => parseAnswer(await runScript(c, source, [key], args)));
  }

  /** viewsOf keeps the records of the answers with `code`, null for other answers, undefined for silent nodes. */
  function viewsOf(replies: NodeReply<ScriptAnswer>[], code: number): NodeView[] {
    return replies.map((r) => (!r.ok ? undefined : r.value.code === code && r.value.value !== undefined ? decodeRecord(r.value.value) : null));
  }

  function unavailable(replies: NodeReply<unknown>[]): LockUnavailableError {
    return new LockUnavailableError(`${countReachable(replies)} of ${size} lock nodes answered, ${quorum} needed`, firstError(replies));
  }

  async function rollback(key: string, nonce: string): Promise<void> {
    // Best effort: whatever stays behind expires with its TTL.
    await fanOut(nodes, timeoutMs, (c) => runScript(c, rollbackScript, [key], [nonce]));
  }

  /** blockedBy explains an acquisition that other leases prevented, and whether to retry. */
  function blockedBy(target: string, others: LeaseTally): { error: unknown; retry: boolean } {
    const proven = provenLease(others);
    if (proven) return { error: new LockedError(toLockInfo(target, proven.record)), retry: false };
    const finalized = possibleLeases(others).find((l) => l.record.fencingToken !== undefined);
    if (finalized) return { error: new LockedError(toLockInfo(target, finalized.record)), retry: false };
    // A split vote between contenders still acquiring: try again.
    const best = others.leases[0];
    return { error: best ? new LockedError(toLockInfo(target, best.record)) : new LockUnavailableError("split vote"), retry: true };
  }

  async function attemptAcquire(scope: string, target: string, key: string, owner: LockOwner, ttlMs: number): Promise<Attempt> {
    const start = Date.now();
    const nonce = randomBytes(12).toString("base64url");
    const expiresAt = start + ttlMs;
    const pending: LockRecord = { nonce, ownerId: owner.id, ownerName: owner.name, acquiredAt: start, expiresAt };
    const replies = await script(acquireScript, key, [owner.id, encodeRecord(pending), ttlMs, expiresAt]);
    const reachable = countReachable(replies);
    const won = replies.filter((r) => r.ok && r.value.code === 1).length;
    const ownViews = viewsOf(replies, 2);
    const own = ownViews.filter((v) => v).length;

    if (reachable < quorum) {
      await rollback(key, nonce);
      return { error: unavailable(replies), retry: false };
    }

    // The owner already holds a lease on a quorum: this is a refresh.
    const held = provenLease(tallyLeases(ownViews, quorum));
    if (held) {
      if (held.record.fencingToken === undefined) {
        // The same owner's other acquisition is still being issued its token.
        await rollback(key, nonce);
        return { error: new LockedError(toLockInfo(target, held.record)), retry: true };
      }
      const lease: LockRecord = { ...held.record, expiresAt };
      // Nodes that were free got our token-less record: give them the lease.
      if (won > 0) await script(replaceOwnScript, key, [nonce, owner.id, encodeRecord(lease)]);
      return { info: toLockInfo(target, lease) };
    }

    if (won + own < quorum) {
      if (won > 0 || reachable < size) await rollback(key, nonce);
      return blockedBy(target, tallyLeases(viewsOf(replies, 0), quorum));
    }

    // Won a quorum: issue the token while holding the lease, then stamp it.
    let token: bigint;
    try {
      token = await fencing.next(scope, target);
    } catch (error) {
      await rollback(key, nonce);
      return { error, retry: false };
    }
    const lease: LockRecord = { ...pending, fencingToken: token.toString() };
    const stamped = await script(replaceOwnScript, key, [nonce, owner.id, encodeRecord(lease)]);
    const votes = stamped.filter((r) => r.ok && r.value.code === 1).length;
    const elapsed = Date.now() - start;
    if (votes >= quorum && elapsed < ttlMs - drift(ttlMs)) return { info: toLockInfo(target, lease) };

    await rollback(key, nonce);
    if (votes >= quorum) return { error: new LockUnavailableError(`acquiring took ${elapsed} ms, too long for a ${ttlMs} ms lease`), retry: false };
    if (countReachable(stamped) < quorum) return { error: unavailable(stamped), retry: false };
    // The lease lapsed while the token was issued, and someone else took it.
    return blockedBy(target, tallyLeases(viewsOf(stamped, 0), quorum));
  }

  function drift(ttlMs: number): number {
    return Math.round(ttlMs * driftFactor) + 2;
  }

  /** readTally reads the key on every node. */
  async function readTally(key: string): Promise<LeaseTally> {
    const replies = await fanOut(nodes, timeoutMs, (c) => c.get(key));
    if (countReachable(replies) < quorum) throw unavailable(replies);
    return tallyLeases(
      replies.map((r) => (!r.ok ? undefined : r.value === null ? null : decodeRecord(r.value))),
      quorum,
    );
  }

  return {
    async acquire(scope, target, owner, ttlMs) {
      ensureOpen();
      checkTtl(ttlMs);
      const key = lockKey(prefix, scope, target);
      for (let attempt = 0; ; attempt++) {
        const outcome = await attemptAcquire(scope, target, key, owner, ttlMs);
        if ("info" in outcome) return outcome.info;
        if (!outcome.retry || attempt >= retryCount) throw outcome.error;
        await sleep(retryDelayMs + Math.floor(Math.random() * retryJitterMs));
      }
    },

    async refresh(scope, target, ownerId, ttlMs) {
      ensureOpen();
      checkTtl(ttlMs);
      const key = lockKey(prefix, scope, target);
      const expiresAt = Date.now() + ttlMs;
      const replies = await script(refreshScript, key, [ownerId, ttlMs, expiresAt]);
      if (countReachable(replies) < quorum) throw unavailable(replies);
      const mine = tallyLeases(viewsOf(replies, 1), quorum);
      const held = provenLease(mine);
      if (held) return toLockInfo(target, { ...held.record, expiresAt });
      if (possibleLeases(mine).length > 0) {
        throw new LockUnavailableError("the caller's lease is on too few reachable nodes to prove it", firstError(replies));
      }
      const other = likelyLease(tallyLeases(viewsOf(replies, 0), quorum));
      throw new LockRequiredError(target, other && toLockInfo(target, other.record));
    },

    async release(scope, target, ownerId) {
      ensureOpen();
      const key = lockKey(prefix, scope, target);
      const replies = await script(releaseScript, key, [ownerId]);
      const reachable = countReachable(replies);
      if (reachable < quorum) throw unavailable(replies);
      const deleted = replies.filter((r) => r.ok && r.value.code === 1).length;
      // Held on a quorum, or possibly so counting silent nodes: either way no quorum can hold it now.
      if (deleted >= quorum || (deleted > 0 && deleted + (size - reachable) >= quorum)) return;
      const other = likelyLease(tallyLeases(viewsOf(replies, 0), quorum));
      if (other) throw new LockedError(toLockInfo(target, other.record));
      throw new LockRequiredError(target);
    },

    async get(scope, target) {
      ensureOpen();
      const lease = likelyLease(await readTally(lockKey(prefix, scope, target)));
      return lease && toLockInfo(target, lease.record);
    },

    async break(scope, target) {
      ensureOpen();
      const key = lockKey(prefix, scope, target);
      const replies = await fanOut(nodes, timeoutMs, (c) => c.getdel(key));
      if (countReachable(replies) < quorum) throw unavailable(replies);
      const broken = tallyLeases(
        replies.map((r) => (!r.ok ? undefined : r.value === null ? null : decodeRecord(r.value))),
        quorum,
      );
      const lease = likelyLease(broken) ?? broken.leases[0];
      return lease && toLockInfo(target, lease.record);
    },

    async assertHeld(scope, target, ownerId) {
      ensureOpen();
      const tally = await readTally(lockKey(prefix, scope, target));
      const held = provenLease(tally);
      if (held && held.record.ownerId === ownerId && held.record.fencingToken !== undefined) {
        return toLockInfo(target, held.record);
      }
      if (!held && possibleLeases(tally).some((l) => l.record.ownerId === ownerId)) {
        throw new LockUnavailableError("the caller's lease is on too few reachable nodes to prove it");
      }
      const other = likelyLease(tally);
      throw new LockRequiredError(target, other && other.record.ownerId !== ownerId ? toLockInfo(target, other.record) : undefined);
    },

    async close() {
      closed = true;
    },
  };
}

/** parseAnswer reads a lock script's `{code, value}` reply. */
function parseAnswer(reply: unknown): ScriptAnswer {
  if (!Array.isArray(reply) || typeof reply[0] !== "number") throw new Error("unexpected lock script reply");
  return { code: reply[0], value: typeof reply[1] === "string" ? reply[1] : undefined };
}
