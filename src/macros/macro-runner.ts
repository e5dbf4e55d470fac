import type { HandlerContext } from "@connectrpc/connect";
import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { Outcome } from "../../gen/gatehouse/v1/common_pb.js";
import type { RunMacroRequest, RunMacroResponse } from "../../gen/gatehouse/v1/macros_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RunMacroResponseSchema } from "../../gen/gatehouse/v1/macros_pb.js";
import type { Deps } from "../deps.js";
import { DomainError, invalidArgument, notFound } from "../domain/errors.js";
import type { Limiter } from "../shared-state/rate-limiters.js";
import { SandboxBusyError, SandboxUnavailableError, type RunOutcome, type RunResult } from "../sandbox/index.js";
import { auditNoteOf, principalOf, } from "../services/support.js";
import { recordAuditNow } from "../audit/record.js";
import { macroById } from "./macro-rows.js";
import { createHostCall } from "./host-functions.js";
import { requireMacroRunAllowed } from "../rules/rule-decision.js";

const outcomes: Record<RunOutcome, Outcome> = {
  ok: Outcome.OK,
  error: Outcome.ERROR,
  timeout: Outcome.TIMEOUT,
  memory_limit: Outcome.MEMORY_LIMIT,
  output_limit: Outcome.OUTPUT_LIMIT,
  denied: Outcome.DENIED,
};

/**
 * inputJson turns the run's input into JSON. The binary format can carry
 * what JSON cannot (a number_value of NaN or Infinity): that is the
 * caller's error, INVALID_ARGUMENT, not ours.
 */
function inputJson(input: RunMacroRequest["input"]): JsonValue {
  if (!input) return null;
  try {
    return toJson(ValueSchema, input);
  } catch (err) {
    throw invalidArgument("input", `is not JSON: ${(err as Error).message}`.slice(0, 200));
  }
}

/**
 * outputOf converts a run's JSON output to a google.protobuf.Value. JSON
 * nesting deeper than protobuf's recursion limit (100) cannot be returned:
 * the macro failed (OUTCOME_ERROR), not the call.
 */
function outputOf(result: RunResult): { outcome: RunOutcome; output: Value | undefined; errorMessage: string } {
  if (result.output === undefined) return { outcome: result.outcome, output: undefined, errorMessage: result.errorMessage ?? "" };
  try {
    return { outcome: result.outcome, output: fromJson(ValueSchema, result.output as JsonValue), errorMessage: result.errorMessage ?? "" };
  } catch (err) {
    return { outcome: "error", output: undefined, errorMessage: `the output cannot be returned: ${(err as Error).message}`.slice(0, 300) };
  }
}

/** MacroRunner runs a stored macro for its caller under the effective policy. */
export interface MacroRunner {
  run(req: RunMacroRequest, ctx: HandlerContext): Promise<MessageInitShape<typeof RunMacroResponseSchema>>;
}

/**
 * createMacroRunner: rate limits (GATEHOUSE_RUNS_PER_SECOND, default 10, per user; and the policy's
 * max_runs_per_minute per user and macro), the effective policy for this
 * room, macro and caller, then one sandbox run with host functions bound to
 * the caller. The run's own failure is an outcome, not an error.
 */
export function createMacroRunner(deps: Deps): MacroRunner {
  const perSecond = deps.limiters({ name: "runs-user", points: deps.config.runsPerSecond, durationSeconds: 1 });
  const perMinute = new Map<number, Limiter>();
  const minuteLimiter = (points: number) => {
    let limiter = perMinute.get(points);
    if (!limiter) {
      limiter = deps.limiters({ name: `runs-min-${points}`, points, durationSeconds: 60 });
      perMinute.set(points, limiter);
    }
    return limiter;
  };
  const refuse = (retryAfterSeconds: number, what: string) =>
    new DomainError("resource_exhausted", "RATE_LIMITED", `too many macro runs (${what}), retry later`, { retryAfterSeconds, layer: what });

  return {
    async run(req, ctx) {
      const principal = principalOf(ctx);
      const roomId = req.roomId.toLowerCase();
      const macroId = req.macroId.toLowerCase();
      const note = auditNoteOf(ctx);
      note.action = "macros.run";
      note.resource = `macro:${macroId}`;
      const policyQuery = {
        tenantId: principal.tenantId,
        roomId,
        macroId,
        userId: principal.via === "room-token" ? undefined : principal.userId,
        roles: principal.via === "room-token" ? principal.roles : undefined,
      };
      const userKey = `${principal.tenantId}:${principal.userId}`;
      const minuteKey = `${userKey}:${macroId}`;
      // A macro run again within the cache's second needs no transaction, and
      // its two limits are counted at once (one Redis write for both).
      const cachedMacro = deps.macroCache.get(principal.tenantId, roomId, macroId);
      const cachedPolicy = cachedMacro && deps.policies.cachedEffectivePolicy(policyQuery);
      const burstCount = perSecond.consume(userKey);
      burstCount.catch(() => undefined); // awaited below; never an unhandled rejection if loading fails first
      const earlyMinute = cachedPolicy && minuteLimiter(cachedPolicy.policy.maxRunsPerMinute).consume(minuteKey);
      earlyMinute?.catch(() => undefined);
      // Otherwise the burst limit is counted while the macro loads.
      const loaded =
        cachedMacro && cachedPolicy
          ? { macro: cachedMacro, policy: cachedPolicy.policy }
          : await deps.db.inTenant(principal.tenantId, async (em) => {
              const epoch = deps.macroCache.epoch(principal.tenantId, roomId);
              const macro = await macroById(em, roomId, macroId);
              if (!macro) return undefined;
              deps.macroCache.set(macro, epoch);
              const merged = await deps.policies.effectivePolicy(em, policyQuery);
              return { macro, policy: merged.policy };
            });
      const burst = await burstCount;
      if (!burst.ok) {
        // A run refused for bursting does not spend the macro's per-minute budget.
        if (earlyMinute && (await earlyMinute).ok) await minuteLimiter(cachedPolicy.policy.maxRunsPerMinute).refund(minuteKey);
        throw refuse(burst.retryAfterSeconds, `${deps.config.runsPerSecond} per second per user`);
      }
      if (!loaded) throw notFound("macro");
      const { macro, policy } = loaded;
      await requireMacroRunAllowed(deps.rules, principal, { roomId, macroId, macroName: macro.name });
      const minute = await (earlyMinute ?? minuteLimiter(policy.maxRunsPerMinute).consume(minuteKey));
      if (!minute.ok) throw refuse(minute.retryAfterSeconds, `max_runs_per_minute ${policy.maxRunsPerMinute}`);

      const roomRole = (await deps.rooms.roleOf(principal, roomId)) ?? 0;
      const input = inputJson(req.input);
      // The run is on the record before it starts: no record, no run.
      await recordAuditNow(ctx, "macros.run_start", { version: macro.version });
      const startedAt = performance.now();
      const result = await deps.sandbox.run({
        code: macro.code,
        input,
        ctx: { caller: { id: principal.userId, level: principal.level }, room: { id: roomId }, macro: { id: macroId, version: macro.version } },
        limits: {
          timeoutMs: policy.timeoutMs,
          memoryLimitBytes: policy.memoryLimitBytes,
          maxStackBytes: policy.maxStackBytes,
          maxOutputBytes: policy.maxOutputBytes,
          maxHostCalls: policy.maxHostCalls,
        },
        allowedImports: policy.allowedImports,
        hostCall: createHostCall(deps, { principal, roomId, macroId, policy, roomRole }, deps.netFetch),
        signal: ctx.signal,
      }).catch((err: unknown) => {
        // The client cancelled (the pool has stopped the worker): the call's
        // record, written on the way out, says so and how long it ran.
        if (ctx.signal.aborted) note.details = { outcome: "canceled", version: macro.version, durationMs: Math.round(performance.now() - startedAt) };
        throw sandboxRefusal(err);
      });
      const { outcome, output, errorMessage } = outputOf(result);
      note.details = {
        outcome,
        version: macro.version,
        durationMs: Math.round(result.durationMs),
        hostCalls: result.hostCalls,
        memoryUsedBytes: result.memoryUsedBytes,
        ...(errorMessage ? { error: errorMessage.slice(0, 300) } : {}),
      };
      return {
        outcome: outcomes[outcome],
        output,
        logs: result.logs,
        durationMs: Math.round(result.durationMs),
        memoryUsedBytes: Math.min(result.memoryUsedBytes, 0xffffffff),
        hostCalls: result.hostCalls,
        errorMessage,
      };
    },
  };
}

export type { RunMacroResponse };

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
