import { parse, type Node, type Program } from "acorn";

/**
 * MacroRule names the check a violation failed; clients may branch on it
 * (it is `Violation.rule` on the wire).
 *
 * - `too-large`: the code is over the size limit in UTF-8 bytes (line 0,
 *   column 0: no position; the code is not parsed, so this is then the only
 *   violation).
 * - `syntax`: the code does not parse as an ES module (acorn stops at the
 *   first error, so this is then the only violation).
 * - `import-not-allowed`: an import of a module that is not a `gatehouse:*`
 *   module listed in the policy's `allowed_imports` (at the module string).
 * - `import-attributes`: `import … with { … }` (at the first attribute).
 * - `import-position`: an import after anything other than imports.
 * - `default-export-kind`: the default export is not a plain or async
 *   function declaration (an arrow, a class, an expression, a generator,
 *   `export { f as default }`).
 * - `duplicate-default-export`: a second default export (reported by the
 *   parser, so it is then the only violation).
 * - `missing-default-export`: no default export at all (line 1, column 1).
 * - `other-export`: any export other than the default one.
 * - `top-level-statement`: anything else at top level, helper functions
 *   included (nest them inside the default function).
 * - `dynamic-import`: `import()` anywhere.
 * - `import-meta`: `import.meta` anywhere.
 * - `too-many-violations`: the last entry when more than `maxViolations`
 *   were found, at the first one left out.
 */
export type MacroRule =
  | "too-large"
  | "syntax"
  | "import-not-allowed"
  | "import-attributes"
  | "import-position"
  | "default-export-kind"
  | "duplicate-default-export"
  | "missing-default-export"
  | "other-export"
  | "top-level-statement"
  | "dynamic-import"
  | "import-meta"
  | "too-many-violations";

/**
 * Violation is one problem found in macro code. `line` and `column` are
 * 1-based; 0 and 0 mean "no position" (only `too-large`). Lines break at
 * `\n`, `\r\n`, `\r`, U+2028 and U+2029, as in ECMAScript. `column` counts
 * UTF-16 code units from the start of the line, as acorn, JavaScript strings
 * and the Language Server Protocol do: `é` counts 1, an emoji 2, a tab 1.
 */
export interface Violation {
  /** line is 1-based; 0 when the problem has no position. */
  readonly line: number;
  /** column is 1-based, in UTF-16 code units; 0 when the problem has no position. */
  readonly column: number;
  /** message says what is wrong, safe to show to the macro's author. */
  readonly message: string;
  /** rule names the check that failed. */
  readonly rule: MacroRule;
}

/** MacroCheckOptions are the effective policy's limits for a macro's code. */
export interface MacroCheckOptions {
  /**
   * allowedImports are the modules the code may import (the policy's
   * `allowed_imports`). Only `gatehouse:*` entries grant anything: any other
   * module is always refused.
   */
  readonly allowedImports: readonly string[];
  /** maxBytes is the largest code size in UTF-8 bytes; default {@link defaultMaxMacroBytes}. */
  readonly maxBytes?: number;
  /**
   * maxViolations caps the answer (default {@link defaultMaxMacroViolations}):
   * past it, one `too-many-violations` entry says how many were left out.
   * 256 KiB of `0;` lines would otherwise give about 130,000 violations, a
   * response far over gRPC's usual 4 MiB message limit.
   */
  readonly maxViolations?: number;
}

/** defaultMaxMacroBytes is the size limit of docs/macros.md: 256 KiB of UTF-8. */
export const defaultMaxMacroBytes = 256 * 1024;

/** defaultMaxMacroViolations is how many violations checkMacro returns at most, by default. */
export const defaultMaxMacroViolations = 100;

const hostModulePrefix = "gatehouse:";
const example = "export default function (input, ctx) { … }";

/**
 * checkMacro checks macro code against docs/macros.md and the effective
 * policy, and returns every violation sorted by position (empty when the
 * code is acceptable). The code must be at most `maxBytes` UTF-8 bytes, parse
 * as an ES module (ecmaVersion latest), import only `gatehouse:*` modules the
 * policy allows, with static import declarations before everything else,
 * then have exactly one default export that is a function declaration (named
 * or not, async or not, never a generator), and nothing else at top level
 * (empty statements, such as the `;` in `function () {};`, are ignored).
 * `import()` and `import.meta` are refused anywhere.
 *
 * This is a lint for authors, not the security boundary: `eval`, `Function`
 * and strings that build code are not refused, since the sandbox, which has
 * no module loader besides the host modules and no ambient authority, is
 * what contains a macro (docs/macros.md). Which names a macro imports from a
 * host module is not checked here either; linking does that.
 */
export function checkMacro(code: string, opts: MacroCheckOptions): Violation[] {
  const maxBytes = opts.maxBytes ?? defaultMaxMacroBytes;
  const bytes = utf8Length(code);
  if (bytes > maxBytes) {
    // Not parsed: the limit bounds the parser's work too.
    return [
      {
        line: 0,
        column: 0,
        rule: "too-large",
        message: `code is ${bytes} bytes (UTF-8); the limit is ${maxBytes} bytes${formatBytes(maxBytes)}`,
      },
    ];
  }

  const found: Found[] = [];
  let program: Program;
  try {
    program = parse(code, { ecmaVersion: "latest", sourceType: "module" });
  } catch (err) {
    if (!isAcornSyntaxError(err)) throw err;
    const message = err.message.replace(/ \(\d+:\d+\)$/, "");
    const duplicate = message === "Duplicate export 'default'";
    found.push({
      offset: err.pos,
      rule: duplicate ? "duplicate-default-export" : "syntax",
      message: duplicate ? `a macro has exactly one default export; this is a second one` : message,
    });
    return finish(code, found, opts);
  }

  checkTopLevel(program, opts.allowedImports, found);
  checkEverywhere(program, found);
  return finish(code, found, opts);
}

/** Found is a violation before its offset becomes a line and column. */
interface Found {
  readonly offset: number;
  readonly rule: MacroRule;
  readonly message: string;
}

/** AnyNode is an acorn node read by its fields; acorn's own types are a union too wide to narrow cheaply. */
type AnyNode = Node & Record<string, any>;

function checkTopLevel(program: Program, allowedImports: readonly string[], found: Found[]): void {
  let seenOther = false;
  let seenDefault = false;
  for (const node of program.body as AnyNode[]) {
    switch (node.type) {
      case "EmptyStatement":
        break;
      case "ImportDeclaration":
        if (seenOther) {
          found.push({
            offset: node.start,
            rule: "import-position",
            message: "import declarations must come before everything else in a macro",
          });
        }
        checkImportSource(node.source, allowedImports, found);
        if (node.attributes.length > 0) {
          const keys = (node.attributes as AnyNode[]).map((a) => JSON.stringify(a.key.name ?? a.key.value)).join(", ");
          found.push({
            offset: node.attributes[0].start,
            rule: "import-attributes",
            message: `import attributes (${keys}) are not allowed: host modules take none`,
          });
        }
        break;
      case "ExportDefaultDeclaration":
        seenOther = true;
        seenDefault = true;
        checkDefaultExport(node.declaration, found);
        break;
      case "ExportNamedDeclaration":
      case "ExportAllDeclaration":
        seenOther = true;
        if (exportsDefault(node)) {
          seenDefault = true;
          found.push({
            offset: node.start,
            rule: "default-export-kind",
            message: `the default export must be written as a function declaration (${example}), not through an export list`,
          });
        } else {
          found.push({
            offset: node.start,
            rule: "other-export",
            message:
              node.type === "ExportAllDeclaration" || node.source
                ? "re-exports are not allowed: a macro exports only its default function"
                : "named exports are not allowed: a macro exports only its default function",
          });
        }
        break;
      default:
        seenOther = true;
        found.push({
          offset: node.start,
          rule: "top-level-statement",
          message:
            node.type === "FunctionDeclaration"
              ? `${describeStatement(node)} is not allowed at top level: nest helper functions inside the default export function`
              : `${describeStatement(node)} is not allowed at top level: a macro is imports, then one default export function; move this inside that function`,
        });
    }
  }
  if (!seenDefault) {
    found.push({
      offset: 0,
      rule: "missing-default-export",
      message: `a macro must export one default function (${example})`,
    });
  }
}

function checkImportSource(source: AnyNode, allowedImports: readonly string[], found: Found[]): void {
  const name = String(source.value);
  const allowed = allowedImports.filter((m) => m.startsWith(hostModulePrefix));
  if (name.startsWith(hostModulePrefix) && allowed.includes(name)) return;
  const list = allowed.length > 0 ? allowed.join(", ") : "none";
  found.push({
    offset: source.start,
    rule: "import-not-allowed",
    message: name.startsWith(hostModulePrefix)
      ? `import of ${JSON.stringify(name)} is not allowed by the policy (allowed: ${list})`
      : `import of ${JSON.stringify(name)} is not allowed: a macro may import only gatehouse:* host modules (allowed: ${list})`,
  });
}

function checkDefaultExport(declaration: AnyNode, found: Found[]): void {
  if (declaration.type === "FunctionDeclaration" && !declaration.generator) return;
  found.push({
    offset: declaration.start,
    rule: "default-export-kind",
    message: `the default export must be a function declaration, async or not (${example}), not ${describeDefault(declaration)}`,
  });
}

function exportsDefault(node: AnyNode): boolean {
  if (node.type === "ExportAllDeclaration") return node.exported != null && exportName(node.exported) === "default";
  return (node.specifiers as AnyNode[]).some((s) => exportName(s.exported) === "default");
}

function exportName(node: AnyNode): string {
  return node.type === "Identifier" ? node.name : String(node.value);
}

/**
 * checkEverywhere walks the whole tree for `import()` and `import.meta`. A
 * generic walk over every field that holds nodes needs no table of node
 * types (acorn-walk's), so syntax acorn adds later is walked too; it uses
 * an explicit stack, so depth is no concern.
 */
function checkEverywhere(program: Program, found: Found[]): void {
  const stack: AnyNode[] = [program as AnyNode];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.type === "ImportExpression") {
      found.push({
        offset: node.start,
        rule: "dynamic-import",
        message: "import() is not allowed: import host modules with import declarations at the top",
      });
    } else if (node.type === "MetaProperty" && node.meta.name === "import") {
      found.push({ offset: node.start, rule: "import-meta", message: "import.meta is not allowed in a macro" });
    }
    for (const key in node) {
      const value: unknown = node[key];
      if (Array.isArray(value)) {
        for (const item of value) if (isNode(item)) stack.push(item);
      } else if (isNode(value)) {
        stack.push(value);
      }
    }
  }
}

function isNode(value: unknown): value is AnyNode {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}

function describeDefault(node: AnyNode): string {
  switch (node.type) {
    case "FunctionDeclaration":
      return node.async ? "an async generator function" : "a generator function";
    case "ArrowFunctionExpression":
      return "an arrow function";
    case "FunctionExpression":
      return "a function expression";
    case "ClassDeclaration":
    case "ClassExpression":
      return "a class";
    default:
      return "an expression";
  }
}

function describeStatement(node: AnyNode): string {
  switch (node.type) {
    case "FunctionDeclaration":
      return `a ${node.async ? "async " : ""}${node.generator ? "generator " : ""}function declaration`;
    case "ClassDeclaration":
      return "a class declaration";
    case "VariableDeclaration":
      return `a ${node.kind} declaration`;
    case "ExpressionStatement":
      return node.directive !== undefined ? `the directive ${JSON.stringify(node.directive)}` : "an expression statement";
    default: {
      // IfStatement → "an if statement", ForOfStatement → "a for of statement".
      const words = node.type.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
      return `${/^[aeiou]/.test(words) ? "an" : "a"} ${words}`;
    }
  }
}

/** isAcornSyntaxError tells acorn's parse errors (SyntaxError with `pos`) from bugs. */
function isAcornSyntaxError(err: unknown): err is SyntaxError & { pos: number } {
  return err instanceof SyntaxError && typeof (err as { pos?: unknown }).pos === "number";
}

function finish(code: string, found: Found[], opts: MacroCheckOptions): Violation[] {
  if (found.length === 0) return [];
  found.sort((a, b) => a.offset - b.offset); // stable: ties keep the order the checks ran in
  const cap = opts.maxViolations ?? defaultMaxMacroViolations;
  const kept = found.slice(0, cap);
  if (found.length > cap) {
    const left = found.length - cap;
    kept.push({
      offset: found[cap]!.offset,
      rule: "too-many-violations",
      message: `${left} more violation${left === 1 ? "" : "s"} not shown`,
    });
  }
  const lineStarts = lineStartsOf(code);
  return kept.map((f) => ({ ...positionOf(lineStarts, f.offset), rule: f.rule, message: f.message }));
}

/** lineStartsOf lists the offset each line starts at, with ECMAScript's line terminators (as acorn). */
function lineStartsOf(code: string): number[] {
  const starts = [0];
  for (const match of code.matchAll(/\r\n?|[\n\u2028\u2029]/g)) starts.push(match.index + match[0].length);
  return starts;
}

function positionOf(lineStarts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lineStarts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - lineStarts[lo]! + 1 };
}

/** utf8Length is the UTF-8 size of `code` without encoding it; a lone surrogate counts 3 (U+FFFD, as TextEncoder). */
function utf8Length(code: string): number {
  let bytes = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && (code.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** formatBytes is ` (256 KiB)` for whole KiB or MiB, else empty. */
function formatBytes(n: number): string {
  if (n > 0 && n % (1024 * 1024) === 0) return ` (${n / (1024 * 1024)} MiB)`;
  if (n > 0 && n % 1024 === 0) return ` (${n / 1024} KiB)`;
  return "";
}
