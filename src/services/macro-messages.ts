import { create, fromJson, toJson, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate, ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { Outcome } from "../../gen/gatehouse/v1/common_pb.js";
import { MacroSchema, MacroSourceKind, MacroSourceSchema, type Macro, type RunMacroRequest, type RunMacroResponseSchema } from "../../gen/gatehouse/v1/macros_pb.js";
import type { MacroRunResult } from "../app/macros/run-macro.js";
import { invalidArgument } from "../domain/errors.js";
import type { RunOutcome } from "../sandbox/index.js";
import type { MacroRecord } from "../store/macros.js";

/** macroMessage renders a stored macro as the API's Macro. */
export function macroMessage(row: MacroRecord): Macro {
  return create(MacroSchema, {
    macroId: row.id,
    tenantId: row.tenantId,
    roomId: row.roomId,
    name: row.name,
    code: row.code,
    version: row.version,
    source: create(MacroSourceSchema, {
      kind: row.sourceKind === "repo" ? MacroSourceKind.REPO : MacroSourceKind.MANUAL,
      repoId: row.sourceRepoId ?? "",
      commit: row.sourceCommit ?? "",
      path: row.sourcePath ?? "",
    }),
    fencingToken: row.fencingToken,
    createdBy: row.createdBy ?? "",
    updatedBy: row.updatedBy ?? "",
    createdAt: timestampFromDate(new Date(row.createdAt)),
    updatedAt: timestampFromDate(new Date(row.updatedAt)),
  });
}

/**
 * runInput turns the run's input into JSON. The binary format can carry
 * what JSON cannot (a number_value of NaN or Infinity): that is the
 * caller's error, INVALID_ARGUMENT, not ours.
 */
export function runInput(input: RunMacroRequest["input"]): JsonValue {
  if (!input) return null;
  try {
    return toJson(ValueSchema, input);
  } catch (err) {
    throw invalidArgument("input", `is not JSON: ${(err as Error).message}`.slice(0, 200));
  }
}

/** encodeRunOutput converts a run's JSON output to a google.protobuf.Value (it throws past protobuf's recursion limit). */
export function encodeRunOutput(output: unknown): Value {
  return fromJson(ValueSchema, output as JsonValue);
}

const outcomes: Record<RunOutcome, Outcome> = {
  ok: Outcome.OK,
  error: Outcome.ERROR,
  timeout: Outcome.TIMEOUT,
  memory_limit: Outcome.MEMORY_LIMIT,
  output_limit: Outcome.OUTPUT_LIMIT,
  denied: Outcome.DENIED,
};

/** runMacroResponse renders how a run ended. */
export function runMacroResponse(result: MacroRunResult<Value>): MessageInitShape<typeof RunMacroResponseSchema> {
  return {
    outcome: outcomes[result.outcome],
    output: result.output,
    logs: result.logs,
    durationMs: result.durationMs,
    memoryUsedBytes: Math.min(result.memoryUsedBytes, 0xffffffff),
    hostCalls: result.hostCalls,
    errorMessage: result.errorMessage,
  };
}
