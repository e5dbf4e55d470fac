import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { Command } from "commander";
import { MacroSchema, Outcome, ViolationSchema, type GatehouseClient, type JsonValue, type Macro, type Violation } from "../client.js";
import { ExitCode } from "../exit-codes.js";
import { macroIdOf, macrosOf, readStdin, roomIdOf, timeText } from "../lookup.js";
import { CliError } from "../output.js";
import type { Session } from "../session.js";

type Open = (cmd: Command) => Session;

/** MacroFile is a macro's source file in a folder: `reports/sum.js` is the macro `reports/sum`. */
interface MacroFile {
  name: string;
  path: string;
  code: string;
}

/** macroFiles answers the `.js` files under a folder (or one file), named by their path without the extension. */
async function macroFiles(path: string): Promise<MacroFile[]> {
  const root = resolve(path);
  if ((await stat(root)).isFile()) return [{ name: root.split(sep).pop()!.replace(/\.m?js$/, ""), path: root, code: await readFile(root, "utf8") }];
  const files: MacroFile[] = [];
  for (const entry of (await readdir(root, { recursive: true, withFileTypes: true })).sort((a, b) => join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)))) {
    if (!entry.isFile() || !/\.m?js$/.test(entry.name)) continue;
    const file = join(entry.parentPath, entry.name);
    files.push({ name: relative(root, file).split(sep).join("/").replace(/\.m?js$/, ""), path: file, code: await readFile(file, "utf8") });
  }
  return files;
}

/** violationLines formats violations as `file:line:column [rule] message`. */
function violationLines(file: string, violations: Violation[]): string[] {
  return violations.map((v) => `${file}:${v.line}:${v.column} ${v.rule ? `[${v.rule}] ` : ""}${v.message}`);
}

const chunks = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** validateAll checks every file with ValidateMacro and answers the violations per file. */
async function validateAll(gh: GatehouseClient, roomId: string, files: MacroFile[]): Promise<Array<{ file: MacroFile; violations: Violation[] }>> {
  const found: Array<{ file: MacroFile; violations: Violation[] }> = [];
  for (const file of files) {
    const { violations } = await gh.macros.validateMacro({ roomId, code: file.code });
    if (violations.length > 0) found.push({ file, violations });
  }
  return found;
}

/**
 * push creates and updates a room's macros from files. New macros are
 * created in batches (no lock needed); a changed macro is updated under its
 * lock: each batch takes the locks of its macros, writes them in one
 * UpdateMacros (with the fencing tokens), and releases the locks it took,
 * whatever happened. Locks the user already held are kept. Unchanged files
 * are skipped. Every file is validated first, so nothing is written when one
 * has a violation.
 */
async function push(s: Session, gh: GatehouseClient, roomId: string, files: MacroFile[], batchSize: number) {
  const invalid = await validateAll(gh, roomId, files);
  if (invalid.length > 0) {
    if (s.out.json) s.out.data({ violations: invalid.flatMap(({ file, violations }) => violations.map((v) => ({ file: file.path, ...(s.out.message(ViolationSchema, v) as object) }))) });
    else for (const { file, violations } of invalid) for (const line of violationLines(relative(process.cwd(), file.path), violations)) s.out.note(line);
    throw new CliError(`${invalid.length} file(s) have violations; nothing was pushed`, ExitCode.invalid);
  }
  const existing = new Map((await macrosOf(gh, roomId)).map((m) => [m.name, m]));
  const me = (await gh.auth.whoAmI({})).user?.userId;
  const results: Array<{ name: string; action: "created" | "updated" | "unchanged"; version: number; macroId: string }> = [];
  const fresh = files.filter((f) => !existing.has(f.name));
  const changed = files.filter((f) => existing.has(f.name) && existing.get(f.name)!.code !== f.code);
  for (const f of files.filter((f) => existing.get(f.name)?.code === f.code)) {
    const m = existing.get(f.name)!;
    results.push({ name: f.name, action: "unchanged", version: m.version, macroId: m.macroId });
  }
  for (const batch of chunks(fresh, batchSize)) {
    const res = await gh.macros.updateMacros({ roomId, macros: batch.map((f) => ({ name: f.name, code: f.code })) });
    for (const m of res.macros) results.push({ name: m.name, action: "created", version: m.version, macroId: m.macroId });
  }
  for (const batch of chunks(changed, batchSize)) {
    const taken: string[] = [];
    try {
      const updates = [];
      for (const f of batch) {
        const m = existing.get(f.name)!;
        const target = `macro/${m.macroId}`;
        const before = (await gh.locks.getLock({ roomId, target })).lock;
        const { lock } = await gh.locks.acquireLock({ roomId, target });
        if (before?.ownerId !== me) taken.push(target);
        updates.push({ macroId: m.macroId, name: f.name, code: f.code, expectedVersion: m.version, fencingToken: lock!.fencingToken });
      }
      const res = await gh.macros.updateMacros({ roomId, macros: updates });
      for (const m of res.macros) results.push({ name: m.name, action: "updated", version: m.version, macroId: m.macroId });
    } finally {
      for (const target of taken) await gh.locks.releaseLock({ roomId, target }).catch(() => undefined);
    }
  }
  results.sort((a, b) => a.name.localeCompare(b.name));
  if (s.out.json) s.out.data(results);
  else s.out.table(["name", "action", "version", "id"], results.map((r) => [r.name, r.action, String(r.version), r.macroId]));
}

/** parseInput reads a run's input: JSON text, `-` for stdin, or `@file`. */
async function parseInput(text: string | undefined): Promise<JsonValue | undefined> {
  if (text === undefined) return undefined;
  const raw = text === "-" ? await readStdin() : text.startsWith("@") ? await readFile(text.slice(1), "utf8") : text;
  try {
    return JSON.parse(raw) as JsonValue;
  } catch (error) {
    throw new CliError(`--input is not JSON: ${(error as Error).message}`);
  }
}

/** registerMacros adds macros list, push, pull, validate and run. */
export function registerMacros(program: Command, open: Open): void {
  const macros = program.command("macros").description("a room's macros: files in, files out, runs");
  const room = "--room <room>";
  const roomHelp = "the room's name or id";

  macros
    .command("list")
    .description("list a room's macros")
    .requiredOption(room, roomHelp)
    .action(async (opts: { room: string }, cmd: Command) => {
      const s = open(cmd);
      const gh = s.client();
      const all = await macrosOf(gh, await roomIdOf(gh, opts.room));
      if (s.out.json) return s.out.data(all.map((m) => s.out.message(MacroSchema, m)));
      s.out.table(["name", "version", "updated", "id"], all.map((m) => [m.name, String(m.version), timeText(m.updatedAt), m.macroId]));
    });

  macros
    .command("push <folder>")
    .description("create and update a room's macros from the .js files of a folder (reports/sum.js is the macro reports/sum), under their locks, in batches")
    .requiredOption(room, roomHelp)
    .option("--batch-size <n>", "macros written (and locks held) at a time", (v) => Number.parseInt(v, 10), 10)
    .action(async (folder: string, opts: { room: string; batchSize: number }, cmd: Command) => {
      const s = open(cmd);
      if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new CliError("--batch-size must be a positive integer");
      const gh = s.client();
      const files = await macroFiles(folder);
      if (files.length === 0) throw new CliError(`no .js files in ${folder}`);
      await push(s, gh, await roomIdOf(gh, opts.room), files, opts.batchSize);
    });

  macros
    .command("pull <folder>")
    .description("write a room's macros into a folder as .js files")
    .requiredOption(room, roomHelp)
    .action(async (folder: string, opts: { room: string }, cmd: Command) => {
      const s = open(cmd);
      const gh = s.client();
      const root = resolve(folder);
      const all: Macro[] = await macrosOf(gh, await roomIdOf(gh, opts.room));
      const written: Array<{ name: string; version: number; path: string }> = [];
      for (const m of all) {
        const path = resolve(root, `${m.name}.js`);
        if (!path.startsWith(root + sep)) throw new CliError(`macro name ${JSON.stringify(m.name)} would be written outside ${folder}`);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, m.code);
        written.push({ name: m.name, version: m.version, path: relative(process.cwd(), path) });
      }
      if (s.out.json) s.out.data(written);
      else s.out.table(["name", "version", "file"], written.map((w) => [w.name, String(w.version), w.path]));
    });

  macros
    .command("validate <paths...>")
    .description("check macro files (or folders of them) against the room's effective policy, without saving")
    .requiredOption(room, roomHelp)
    .action(async (paths: string[], opts: { room: string }, cmd: Command) => {
      const s = open(cmd);
      const gh = s.client();
      const roomId = await roomIdOf(gh, opts.room);
      const files = (await Promise.all(paths.map(macroFiles))).flat();
      const invalid = await validateAll(gh, roomId, files);
      if (s.out.json) s.out.data({ files: files.length, violations: invalid.flatMap(({ file, violations }) => violations.map((v) => ({ file: relative(process.cwd(), file.path), ...(s.out.message(ViolationSchema, v) as object) }))) });
      else {
        for (const { file, violations } of invalid) for (const line of violationLines(relative(process.cwd(), file.path), violations)) s.out.line(line);
        s.out.note(`${files.length} file(s) checked, ${invalid.length} with violations`);
      }
      if (invalid.length > 0) throw new CliError(`${invalid.length} file(s) have violations`, ExitCode.invalid);
    });

  macros
    .command("run <macro>")
    .description("run a macro (name or id) with JSON input; prints its JSON output")
    .requiredOption(room, roomHelp)
    .option("--input <json>", "the input as JSON, - to read it from stdin, or @file")
    .action(async (macro: string, opts: { room: string; input?: string }, cmd: Command) => {
      const s = open(cmd);
      const gh = s.client();
      const roomId = await roomIdOf(gh, opts.room);
      const macroId = await macroIdOf(gh, roomId, macro);
      const input = await parseInput(opts.input);
      const res = await gh.macros.runMacro({ roomId, macroId, input });
      const outcome = (Outcome[res.outcome] ?? "OUTCOME_UNSPECIFIED").replace(/^OUTCOME_/, "");
      if (s.out.json) {
        s.out.data({ outcome, output: res.output ?? null, logs: res.logs, durationMs: res.durationMs, memoryUsedBytes: res.memoryUsedBytes, hostCalls: res.hostCalls, errorMessage: res.errorMessage });
      } else {
        for (const log of res.logs) s.out.note(`log: ${log}`);
        if (res.output !== undefined) s.out.line(JSON.stringify(res.output, null, 2));
      }
      if (res.outcome !== Outcome.OK) throw new CliError(`the run ended ${outcome}${res.errorMessage ? `: ${res.errorMessage}` : ""}`, ExitCode.checkFailed);
    });
}
