import { classifyDriverError, isBrokenConnectionError, UnavailableError, type StoreError } from "./errors.js";
import type { StoreOrm } from "./orm.js";
import { attemptsOnBrokenConnection } from "./tenant-scope.js";

/** PingResult is the answer of a health probe. */
export interface PingResult {
  /** ok is true when `select 1` answered in time. */
  ok: boolean;
  /** latencyMs is how long the probe took (or waited, on timeout). */
  latencyMs: number;
  /** error says why not, when not ok. */
  error?: StoreError;
}

/**
 * pingDatabase runs `select 1` on a pooled connection and answers within
 * `timeoutMs` whatever happens. It never throws. The pool discards connections
 * that broke (knex marks a pg client disposed on its `error`/`end` event), so a
 * database that comes back is reachable again without a restart; a probe that
 * drew such a dead connection tries again within its budget, so
 * stale connections alone do not report the database down.
 */
export async function pingDatabase(orm: StoreOrm, timeoutMs: number): Promise<PingResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UnavailableError(`ping timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  const attempts = attemptsOnBrokenConnection(orm);
  const probe = async () => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await orm.em.fork({ useContext: false }).execute("select 1 as ok");
      } catch (error) {
        if (attempt >= attempts || !isBrokenConnectionError(error)) throw error;
      }
    }
  };
  const query = probe();
  query.catch(() => undefined); // it may settle after the timeout
  try {
    await Promise.race([query, timeout]);
    return { ok: true, latencyMs: performance.now() - started };
  } catch (error) {
    const classified = classifyDriverError(error) ?? new UnavailableError("ping failed", { cause: error });
    return { ok: false, latencyMs: performance.now() - started, error: classified };
  } finally {
    clearTimeout(timer);
  }
}
