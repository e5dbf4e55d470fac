import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/** quorumOf answers the majority of `size` nodes: N/2+1 (2 of 3, 3 of 5). */
export function quorumOf(size: number): number {
  return Math.floor(size / 2) + 1;
}

/**
 * NodeReply is one node's answer in a fan-out: its value, or `unreachable`
 * with the error (connection refused, timeout, script error).
 */
export type NodeReply<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** sendable are the client states worth sending to: connected, or lazy and not yet asked to connect. */
const sendable = new Set(["ready", "wait"]);

/**
 * fanOut runs `call` on every client at once and waits for all of them, each
 * bounded by `timeoutMs`. Unlike redlock it does not stop at the quorum: the
 * callers decide from every answer, and no straggler is left holding an old
 * value when the call returns (except one that timed out).
 *
 * A client that is not connected (reconnecting, closed) counts as down at
 * once, without sending: with ioredis' offline queue the command would
 * otherwise wait for the timeout on every call while a node is down, and be
 * run late, after the reconnect, when its answer is no longer awaited.
 */
export async function fanOut<T>(clients: readonly Redis[], timeoutMs: number, call: (client: Redis) => Promise<T>): Promise<NodeReply<T>[]> {
  return Promise.all(
    clients.map(async (client): Promise<NodeReply<T>> => {
      if (!sendable.has(client.status)) return { ok: false, error: new Error(`redis node is ${client.status}`) };
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`redis node did not answer within ${timeoutMs} ms`)), timeoutMs);
          timer.unref();
        });
        return { ok: true, value: await Promise.race([call(client), timeout]) };
      } catch (error) {
        return { ok: false, error };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}

/** countReachable answers how many nodes answered. */
export function countReachable(replies: readonly NodeReply<unknown>[]): number {
  return replies.filter((r) => r.ok).length;
}

/** firstError answers the first node error of a fan-out, kept as a cause for logs. */
export function firstError(replies: readonly NodeReply<unknown>[]): unknown {
  for (const r of replies) if (!r.ok) return r.error;
  return undefined;
}

/** LuaScript is a Lua script with its SHA1, run with EVALSHA and EVAL as fallback. */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

/** defineScript computes a script's SHA1 once. */
export function defineScript(source: string): LuaScript {
  return { source, sha: createHash("sha1").update(source).digest("hex") };
}

/**
 * runScript runs a script on one node by its SHA1, loading it with EVAL when
 * the node does not know it (first use, or the node restarted empty). It does
 * not touch the shared client (no defineCommand).
 */
export async function runScript(client: Redis, script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
    return client.eval(script.source, keys.length, ...keys, ...args);
  }
}
