import { Writable } from "node:stream";
import { pino, type Logger } from "pino";

export type { Logger };

/** LogFormat is "json" (one object a line, for machines) or "pretty" (for a terminal). */
export type LogFormat = "json" | "pretty";

/**
 * createLogger builds the structured logger. Secrets are redacted by path
 * wherever they might be logged by accident, before either format writes.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream, format: LogFormat = "json"): Logger {
  const out = destination ?? process.stdout;
  return pino(
    {
      level,
      base: { service: "gatehouse" },
      redact: {
        paths: [
          "password", "*.password", "*.newPassword", "*.oldPassword", "*.adminPassword",
          "token", "*.token", "*.accessToken", "*.refreshToken", "*.authorization", "*.cookie",
          "headers.authorization", "headers.cookie", "*.privateKey", "*.hmacKey",
        ],
        censor: "[redacted]",
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    (format === "pretty" ? createPrettyStream(out) : destination) as never,
  );
}

const levelNames: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
const levelColors: Record<number, string> = { 10: "90", 20: "36", 30: "32", 40: "33", 50: "31", 60: "35" };
const omitted = new Set(["level", "time", "msg", "service", "pid", "hostname"]);

function formatValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s="]*$/.test(value) && value !== "" ? value : JSON.stringify(value);
  return JSON.stringify(value);
}

/**
 * formatPrettyLine turns one pino JSON line into `12:34:56.789 INFO  message key=value …`
 * (an error's stack on the lines after it); a line that is not JSON passes unchanged.
 */
export function formatPrettyLine(line: string, colors = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof entry.level === "number" ? entry.level : 30;
  const time = typeof entry.time === "string" ? entry.time.slice(11, 23) : "";
  const name = (levelNames[level] ?? String(level)).padEnd(5);
  const fields: string[] = [];
  let stack = "";
  for (const [key, value] of Object.entries(entry)) {
    if (omitted.has(key) || value === undefined) continue;
    if (key === "err" && value && typeof value === "object") {
      const err = value as { message?: string; stack?: string };
      fields.push(`err=${formatValue(err.message ?? "")}`);
      if (err.stack) stack = "\n    " + err.stack.split("\n").join("\n    ");
      continue;
    }
    fields.push(`${key}=${formatValue(value)}`);
  }
  const shownLevel = colors ? `\u001b[${levelColors[level] ?? "0"}m${name}\u001b[0m` : name;
  const rest = fields.length > 0 ? "  " + (colors ? `\u001b[90m${fields.join(" ")}\u001b[0m` : fields.join(" ")) : "";
  return `${time} ${shownLevel} ${String(entry.msg ?? "")}${rest}${stack}`;
}

/** createPrettyStream answers a stream that writes each pino line to `out` in the pretty format. */
export function createPrettyStream(out: NodeJS.WritableStream): Writable {
  const colors = (out as { isTTY?: boolean }).isTTY === true && !process.env.NO_COLOR;
  let pending = "";
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      const text = lines.map((line) => formatPrettyLine(line, colors) + "\n").join("");
      if (text) out.write(text);
      callback();
    },
  });
}
