/**
 * FencingCounter issues fencing tokens: `next` answers a number strictly
 * greater than every number it answered before for the same target of the
 * same scope (gaps allowed). Tokens start at 1; 0 is never issued.
 *
 * The lock managers call `next` only while holding the target's lease, so
 * calls for one target are serialized; an implementation may rely on that.
 * The durable implementation is one Postgres statement per call, e.g.
 * `INSERT INTO lock_fences (scope, target, value) VALUES ($1, $2, 1)
 *  ON CONFLICT (scope, target) DO UPDATE SET value = lock_fences.value + 1
 *  RETURNING value` (scope is `${tenantId}/${roomId}`, split it for RLS).
 * An implementation that cannot answer should throw an error the service
 * maps to UNAVAILABLE (e.g. `LockUnavailableError`); the lock is then not taken.
 */
export interface FencingCounter {
  next(scope: string, target: string): Promise<bigint>;
}

/**
 * createMemoryFencingCounter counts in process memory, for embedded mode and
 * tests. Tokens restart at 1 with the process, so use it only where the
 * stored tokens restart too (an in-memory database).
 */
export function createMemoryFencingCounter(): FencingCounter {
  const counters = new Map<string, bigint>();
  return {
    next(scope, target) {
      const key = `${scope}\u0000${target}`;
      const value = (counters.get(key) ?? 0n) + 1n;
      counters.set(key, value);
      return Promise.resolve(value);
    },
  };
}
