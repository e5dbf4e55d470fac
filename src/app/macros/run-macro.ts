import { DomainError, notFound } from "../../domain/errors.js";
import type { MacroCache } from "../../macros/macro-cache.js";
import type { EffectivePolicies } from "../../policies/effective-policy.js";
import { requireMacroRunAllowed } from "../../rules/rule-decision.js";
import { SandboxBusyError, SandboxUnavailableError, type RunOutcome, type SandboxPool } from "../../sandbox/index.js";
import type { MacroStore } from "../../store/macros.js";
import { AuditedFailure, failingWith } from "../audited-failure.js";
import { outcome, type Call, type Outcome } from "../call.js";
import { createHostCall, type HostCallDeps } from "./host-functions.js";
import { policyQueryOf } from "./macro-policy.js";
import type { RunLimits } from "./run-limits.js";

export interface RunMacroDeps<Output> extends HostCallDeps {
  macros: MacroStore;
  policies: Pick<EffectivePolicies, "effectivePolicy" | "cachedEffectivePolicy">;
  macroCache: Pick<MacroCache, "get" | "epoch" | "set">;
  sandbox: Pick<SandboxPool, "run">;
  limits: RunLimits;
  /**
   * encodeOutput turns the run's JSON output into what the caller answers;
   * it throws when it cannot (JSON nested deeper than protobuf's recursion
   * limit): the macro failed (outcome error), not the call.
   */
  encodeOutput(output: unknown): Output;
}

/** MacroRunResult is how a run ended; every outcome but "ok" is the macro's failure, not the call's. */
export interface MacroRunResult<Output> {
  outcome: RunOutcome;
  output: Output | undefined;
  logs: string[];
  durationMs: number;
  memoryUsedBytes: number;
  hostCalls: number;
  errorMessage: string;
}

function refuse(retryAfterSeconds: number, what: string): DomainError {
  return new DomainError("resource_exhausted", "RATE_LIMITED", `too many macro runs (${what}), retry later`, { retryAfterSeconds, layer: what });
}

/**
 * runMacro runs a stored macro for its caller: rate limits (per user per
 * second; the policy's max_runs_per_minute per user and macro), the
 * effective policy for this room, macro and caller, `macro.run` rules, a
 * record of the run before it starts, then one sandbox run with host
 * functions bound to the caller and its role in the room.
 */
export async function runMacro<Output>(
  deps: RunMacroDeps<Output>,
  call: Call,
  input: { roomId: string; macroId: string; input: unknown },
): Promise<Outcome<MacroRunResult<Output>>> {
  const { principal } = call;
  const { roomId, macroId } = input;
  const resource = `macro:${macroId}`;
  return failingWith({ resource }, async () => {
    const policyQuery = policyQueryOf(principal, roomId, macroId);
    const userKey = `${principal.tenantId}:${principal.userId}`;
    const minuteKey = `${userKey}:${macroId}`;
    const { limits } = deps;
    // A macro run again within the cache's second needs no transaction, and
    // its two limits are counted at once (one Redis write for both).
    const cachedMacro = deps.macroCache.get(principal.tenantId, roomId, macroId);
    const cachedPolicy = cachedMacro && deps.policies.cachedEffectivePolicy(policyQuery);
    const burstCount = limits.perSecond.consume(userKey);
    burstCount.catch(() => undefined); // awaited below; never an unhandled rejection if loading fails first
    const earlyMinute = cachedPolicy && limits.perMinute(cachedPolicy.policy.maxRunsPerMinute).consume(minuteKey);
    earlyMinute?.catch(() => undefined);
    // Otherwise the burst limit is counted while the macro loads.
    const loaded =
      cachedMacro && cachedPolicy
        ? { macro: cachedMacro, policy: cachedPolicy.policy }
        : await call.inTx(async (tx) => {
            const epoch = deps.macroCache.epoch(principal.tenantId, roomId);
            const macro = await deps.macros.byId(tx, roomId, macroId);
            if (!macro) return undefined;
            deps.macroCache.set(macro, epoch);
            const merged = await deps.policies.effectivePolicy(tx, policyQuery);
            return { macro, policy: merged.policy };
          });
    const burst = await burstCount;
    if (!burst.ok) {
      // A run refused for bursting does not spend the macro's per-minute budget.
      if (earlyMinute && (await earlyMinute).ok) await limits.perMinute(cachedPolicy.policy.maxRunsPerMinute).refund(minuteKey);
      throw refuse(burst.retryAfterSeconds, `${limits.runsPerSecond} per second per user`);
    }
    if (!loaded) throw notFound("macro");
    const { macro, policy } = loaded;
    await requireMacroRunAllowed(deps.rules, principal, { roomId, macroId, macroName: macro.name });
    const minute = await (earlyMinute ?? limits.perMinute(policy.maxRunsPerMinute).consume(minuteKey));
    if (!minute.ok) throw refuse(minute.retryAfterSeconds, `max_runs_per_minute ${policy.maxRunsPerMinute}`);

    // The role the access rule checked (the interceptor looked it up once).
    const roomRole = call.room?.role ?? 0;
    // The run is on the record before it starts: no record, no run.
    await call.recordNow("macros.run_start", { version: macro.version }, { resource });
    const startedAt = performance.now();
    const result = await deps.sandbox
      .run({
        code: macro.code,
        input: input.input,
        ctx: { caller: { id: principal.userId, level: principal.level }, room: { id: roomId }, macro: { id: macroId, version: macro.version } },
        limits: {
          timeoutMs: policy.timeoutMs,
          memoryLimitBytes: policy.memoryLimitBytes,
          maxStackBytes: policy.maxStackBytes,
          maxOutputBytes: policy.maxOutputBytes,
          maxHostCalls: policy.maxHostCalls,
        },
        allowedImports: policy.allowedImports,
        hostCall: createHostCall(deps, call, { principal, roomId, macroId, policy, roomRole }),
        signal: call.signal,
      })
      .catch((err: unknown) => {
        // The client cancelled (the pool has stopped the worker): the call's
        // record, written on the way out, says so and how long it ran.
        if (call.signal.aborted) {
          throw new AuditedFailure(sandboxRefusal(err), {
            resource,
            details: { outcome: "canceled", version: macro.version, durationMs: Math.round(performance.now() - startedAt) },
          });
        }
        throw sandboxRefusal(err);
      });
    let runOutcome = result.outcome;
    let output: Output | undefined;
    let errorMessage = result.errorMessage ?? "";
    if (result.output !== undefined) {
      try {
        output = deps.encodeOutput(result.output);
      } catch (err) {
        runOutcome = "error";
        errorMessage = `the output cannot be returned: ${(err as Error).message}`.slice(0, 300);
      }
    }
    const details = {
      outcome: runOutcome,
      version: macro.version,
      durationMs: Math.round(result.durationMs),
      hostCalls: result.hostCalls,
      memoryUsedBytes: result.memoryUsedBytes,
      ...(errorMessage ? { error: errorMessage.slice(0, 300) } : {}),
    };
    return outcome(
      {
        outcome: runOutcome,
        output,
        logs: result.logs,
        durationMs: Math.round(result.durationMs),
        memoryUsedBytes: result.memoryUsedBytes,
        hostCalls: result.hostCalls,
        errorMessage,
      },
      { resource, details },
    );
  });
}

/**
 * sandboxRefusal turns a run the pool refused before starting it into an
 * answer the client can act on: every worker busy and the queue full, or the
 * pool closing, is UNAVAILABLE (retry later), not an internal error.
 */
function sandboxRefusal(err: unknown): unknown {
  if (err instanceof SandboxBusyError) {
    return new DomainError("unavailable", "UNAVAILABLE", `every sandbox worker is busy and ${err.queueLimit} runs are queued; try again`, { retryAfterSeconds: 1 });
  }
  if (err instanceof SandboxUnavailableError) return new DomainError("unavailable", "UNAVAILABLE", "the sandbox is unavailable, try again");
  return err;
}
