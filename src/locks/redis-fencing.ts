import type { Redis } from "ioredis";
import { LockUnavailableError } from "./errors.js";
import type { FencingCounter } from "./fencing.js";
import { fenceKey } from "./lock-record.js";
import { countReachable, fanOut, firstError, quorumOf, runScript } from "./quorum.js";
import { raiseToScript } from "./redis-scripts.js";

/** RedisFencingCounterOptions configure createRedisFencingCounter. */
export interface RedisFencingCounterOptions {
  /** prefix starts every counter key (default `gatehouse:`). */
  prefix?: string;
  /** nodeTimeoutMs bounds each node's answer (default 1000). */
  nodeTimeoutMs?: number;
}

/**
 * createRedisFencingCounter keeps one counter per target on every node, for
 * when no database counter is configured. `next` INCRs the counter on all
 * nodes and answers the highest value among the (at least a quorum of)
 * answers. When the answers differ (a node restarted empty, or missed calls
 * while down), it writes that highest value back to every node below it,
 * again requiring a quorum, so that a majority always holds the latest token.
 * Any later quorum overlaps that majority, so tokens keep increasing as long
 * as fewer than a quorum of nodes lose their data at once.
 *
 * It relies on calls for one target being serialized (the lock managers call
 * it only while holding the lease): two concurrent calls may answer the same
 * number. Counters never expire. Fewer than a quorum reachable →
 * `LockUnavailableError`.
 */
export function createRedisFencingCounter(clients: readonly Redis[], opts: RedisFencingCounterOptions = {}): FencingCounter {
  if (clients.length === 0) throw new Error("createRedisFencingCounter needs at least one Redis client");
  const prefix = opts.prefix ?? "gatehouse:";
  const timeoutMs = opts.nodeTimeoutMs ?? 1000;
  const quorum = quorumOf(clients.length);
  return {
    async next(scope, target) {
      const key = fenceKey(prefix, scope, target);
      const replies = await fanOut(clients, timeoutMs, (c) => c.incr(key));
      if (countReachable(replies) < quorum) {
        throw new LockUnavailableError("fewer than a quorum of nodes answered INCR", firstError(replies));
      }
      const values = replies.flatMap((r) => (r.ok ? [BigInt(r.value)] : []));
      const max = values.reduce((a, b) => (b > a ? b : a));
      // Equal answers mean every answering node (a quorum) already holds `max`.
      if (!values.every((v) => v === max)) {
        // Make a quorum hold `max`; nodes already at or above it keep their value.
        const raised = await fanOut(clients, timeoutMs, (c) => runScript(c, raiseToScript, [key], [max.toString()]));
        if (countReachable(raised) < quorum) {
          throw new LockUnavailableError("fewer than a quorum of nodes took the fencing write-back", firstError(raised));
        }
      }
      return max;
    },
  };
}
