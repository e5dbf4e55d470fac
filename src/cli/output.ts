import { toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError, ErrorDetailSchema, errorDetailOf } from "@gatehouse/client/node";
import { exitCodeOf, ExitCode } from "./exit-codes.js";

/**
 * Output: tables for people, JSON for scripts (`--json`). Results go to
 * stdout, errors and notes to stderr, so `--json` output can be piped.
 */

/** CliError is a failure the CLI itself detects (bad input, not logged in), with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    /** exitCode is what the command exits with. */
    readonly exitCode: number = ExitCode.usage,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Output writes a command's results. */
export interface Output {
  json: boolean;
  /** line writes one line of text to stdout. */
  line(text: string): void;
  /** note writes a line for people to stderr (never in the way of piped output). */
  note(text: string): void;
  /** data writes a value as JSON to stdout (bigints as strings). */
  data(value: unknown): void;
  /** message converts a protobuf message to its canonical JSON (enum names, RFC 3339 times, 64-bit integers as strings). */
  message<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): unknown;
  /** table writes rows under a header, columns padded to line up. */
  table(columns: string[], rows: string[][]): void;
}

/** createOutput writes to the process's stdout and stderr. */
export function createOutput(json: boolean): Output {
  return {
    json,
    line: (text) => process.stdout.write(`${text}\n`),
    note: (text) => process.stderr.write(`${text}\n`),
    data: (value) => process.stdout.write(`${JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`),
    message: (schema, message) => toJson(schema, message, { alwaysEmitImplicit: false }),
    table(columns, rows) {
      if (rows.length === 0) {
        process.stderr.write("(none)\n");
        return;
      }
      const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? "").length)));
      const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
      process.stdout.write(`${[fmt(columns.map((c) => c.toUpperCase())), ...rows.map(fmt)].join("\n")}\n`);
    },
  };
}

/** reportError prints a failure (with its ErrorDetail reason and facts) to stderr and answers the exit code. */
export function reportError(error: unknown, json: boolean): number {
  if (error instanceof CliError) {
    process.stderr.write(json ? `${JSON.stringify({ error: { code: "cli", message: error.message } })}\n` : `error: ${error.message}\n`);
    return error.exitCode;
  }
  if (!(error instanceof ConnectError)) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(json ? `${JSON.stringify({ error: { code: "internal", message } })}\n` : `error: ${message}\n`);
    return ExitCode.failure;
  }
  const e = ConnectError.from(error);
  const detail = errorDetailOf(e);
  const code = Code[e.code] ?? "Unknown";
  const snake = code.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
  if (json) {
    process.stderr.write(`${JSON.stringify({ error: { code: snake, reason: detail?.reason ?? "", message: e.rawMessage, detail: detail ? toJson(ErrorDetailSchema, detail) : undefined } })}\n`);
    return exitCodeOf(e);
  }
  const lines = [`error: ${detail?.reason || snake}: ${e.rawMessage}${detail?.reason && detail.reason !== snake ? ` (${snake})` : ""}`];
  if (detail?.permission) lines.push(`  permission: ${detail.permission}`);
  if (detail?.field) lines.push(`  field: ${detail.field}${detail.attemptedValue ? ` = ${detail.attemptedValue}` : ""}`);
  if (detail?.holder) lines.push(`  held by: ${detail.holder.holderName} (${detail.holder.holderId})`);
  if (detail?.layer) lines.push(`  layer: ${detail.layer}`);
  if (detail?.retryAfter) lines.push(`  retry after: ${Number(detail.retryAfter.seconds) + detail.retryAfter.nanos / 1e9} s`);
  if (detail?.ruleIds.length) lines.push(`  rules: ${detail.ruleIds.join(", ")}`);
  for (const v of detail?.violations ?? []) lines.push(`  ${v.file ? `${v.file}:` : ""}${v.line}:${v.column} ${v.rule ? `[${v.rule}] ` : ""}${v.message}`);
  process.stderr.write(`${lines.join("\n")}\n`);
  return exitCodeOf(e);
}
