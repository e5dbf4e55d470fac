import { Level } from "../../gen/gatehouse/v1/common_pb.js";
import type { Call } from "../../src/app/call.js";
import type { AfterCommit, CheckedRoom, Principal } from "../../src/context.js";
import type { Tx } from "../../src/store/tx.js";

/**
 * TestCall is a Call for use-case tests without a server: in-memory stores
 * ignore the transaction, so `inTx` hands them a placeholder; after-commit
 * work runs when the test calls `commit()`, and recordNow keeps its records.
 */
export interface TestCall extends Call {
  commit(): Promise<void>;
  recorded: Array<{ action: string; details: Record<string, unknown>; facts?: Record<string, unknown> }>;
}

/** testCall builds a TestCall for `principal` (defaults: an ADMIN with no permissions). */
export function testCall(principal: Partial<Principal> = {}, room?: CheckedRoom): TestCall {
  const pending: AfterCommit[] = [];
  const recorded: TestCall["recorded"] = [];
  return {
    principal: {
      userId: "00000000-0000-4000-8000-000000000001",
      username: "tester",
      tenantId: "00000000-0000-4000-8000-000000000101",
      level: Level.ADMIN,
      sessionId: "s1",
      permissions: new Set<string>(),
      roles: [],
      via: "bearer",
      ...principal,
    },
    request: { requestId: "req-1", ip: "127.0.0.1", userAgent: "test", startedAt: 0n },
    room,
    signal: new AbortController().signal,
    inTx: (fn) => fn(undefined as unknown as Tx),
    afterCommit: (work) => void pending.push(work),
    afterRollback: () => undefined,
    recordNow: async (action, details, facts) => void recorded.push(facts ? { action, details, facts } : { action, details }),
    commit: async () => {
      for (const work of pending.splice(0)) await work();
    },
    recorded,
  };
}
