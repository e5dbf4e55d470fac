import { checkMacro, defaultMaxMacroBytes } from "../domain/macro-check.js";
import { macroNameProblem } from "../domain/names.js";
import type { RepoFile } from "./git-sync.js";

/**
 * Planning a repo sync: which macros the fetched files become, which
 * existing macros change or go, and every problem that stops the import.
 * Pure: the service applies the plan in one transaction.
 *
 * Naming: a file `<path>/<name>.js` becomes the macro `<name>`, its path
 * relative to the repo's `path` without `.js` (`reports/sum.js` under
 * `macros` → `reports/sum`). A macro imported earlier from the same repo is
 * matched by its source path, so a file keeps its macro (id, version,
 * policy) across syncs, even when the repo's `path` changes its name.
 */

/** ImportViolation is one problem of one file. */
export interface ImportViolation {
  /** file is the file's path from the repository's root. */
  file: string;
  line: number;
  column: number;
  message: string;
  /**
   * rule is a macro-check rule, or `encoding` (not UTF-8), `bad-name` (no
   * valid macro name) or `name-taken` (a macro not imported from this repo
   * has that name).
   */
  rule: string;
}

/** ExistingMacro is a macro of the room as the plan needs it. */
export interface ExistingMacro {
  id: string;
  name: string;
  code: string;
  sourceKind: "manual" | "repo";
  sourceRepoId: string | null;
  sourcePath: string | null;
}

/** PlannedMacro is one file's macro: new (id undefined) or existing. */
export interface PlannedMacro {
  id: string | undefined;
  name: string;
  path: string;
  code: string;
  /** changed says the code or the name differs from the stored macro (always true for a new one). */
  changed: boolean;
  /** renamed says the name differs from the stored macro's. */
  renamed: boolean;
}

/** ImportPlan is what a sync does when it has no violations. */
export interface ImportPlan {
  /** macros are every file's macro, sorted by path. */
  macros: PlannedMacro[];
  /** removed are this repo's macros whose files are gone. */
  removed: Array<{ id: string; name: string; path: string }>;
  /** violations stop the import when not empty. */
  violations: ImportViolation[];
}

/** macroNameOf names a file's macro: its path relative to `basePath`, without `.js`. */
export function macroNameOf(filePath: string, basePath: string): string {
  const relative = basePath === "" ? filePath : filePath.slice(basePath.length + 1);
  return relative.slice(0, -".js".length);
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * planImport checks every file (UTF-8, name, AST against `allowedImports`,
 * size) and matches the files with the room's macros. `existing` are every
 * macro of the room.
 */
export function planImport(
  files: readonly RepoFile[],
  basePath: string,
  repoId: string,
  existing: readonly ExistingMacro[],
  allowedImports: readonly string[],
  maxFileBytes = defaultMaxMacroBytes,
): ImportPlan {
  const ours = new Map<string, ExistingMacro>();
  const byName = new Map<string, ExistingMacro>();
  for (const macro of existing) {
    if (macro.sourceKind === "repo" && macro.sourceRepoId === repoId && macro.sourcePath !== null) ours.set(macro.sourcePath, macro);
    byName.set(macro.name, macro);
  }
  const violations: ImportViolation[] = [];
  const macros: PlannedMacro[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const name = macroNameOf(file.path, basePath);
    seen.add(file.path);
    const at = (rule: string, message: string): ImportViolation => ({ file: file.path, line: 0, column: 0, rule, message });
    let code: string;
    try {
      code = utf8.decode(file.content);
    } catch {
      violations.push(at("encoding", "the file is not valid UTF-8"));
      continue;
    }
    const nameProblem = macroNameProblem(name);
    if (nameProblem) violations.push(at("bad-name", `the macro name ${JSON.stringify(name.slice(0, 140))} ${nameProblem}`));
    for (const v of checkMacro(code, { allowedImports, maxBytes: maxFileBytes })) {
      violations.push({ file: file.path, line: v.line, column: v.column, message: v.message, rule: v.rule });
    }
    const mine = ours.get(file.path);
    const holder = byName.get(name);
    if (holder && !(holder.sourceKind === "repo" && holder.sourceRepoId === repoId)) {
      violations.push(at("name-taken", `the room already has a macro named ${JSON.stringify(name)} that was not imported from this repo; rename or delete it`));
    }
    macros.push({
      id: mine?.id,
      name,
      path: file.path,
      code,
      changed: !mine || mine.code !== code || mine.name !== name,
      renamed: mine !== undefined && mine.name !== name,
    });
  }
  const removed = [...ours.values()].filter((m) => !seen.has(m.sourcePath!)).map((m) => ({ id: m.id, name: m.name, path: m.sourcePath! }));
  removed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { macros, removed, violations };
}
