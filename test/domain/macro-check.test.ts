import { parse } from "acorn";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkMacro, defaultMaxMacroBytes, type MacroCheckOptions, type Violation } from "../../src/domain/macro-check.js";

const allowedImports = ["gatehouse:store", "gatehouse:log"];

function check(code: string, opts: Partial<MacroCheckOptions> = {}): Violation[] {
  return checkMacro(code, { allowedImports, ...opts });
}

/** at lists violations as `rule@line:column`, the shape most tests assert. */
function at(code: string, opts: Partial<MacroCheckOptions> = {}): string[] {
  return check(code, opts).map((v) => `${v.rule}@${v.line}:${v.column}`);
}

const lines = (...l: string[]) => l.join("\n");
const fn = "export default function (input, ctx) {}";

describe("checkMacro", () => {
  describe("valid macros", () => {
    it("accepts allowed imports of every static form, then an async named default function", () => {
      const code = lines(
        `import { get, put as save } from "gatehouse:store";`,
        `import * as log from "gatehouse:log";`,
        `import store from "gatehouse:store";`,
        `import "gatehouse:log";`,
        ``,
        `// helpers live inside the function`,
        `export default async function run(input, ctx) {`,
        `  const double = (x) => x * 2;`,
        `  function inner() { return ctx.room.id; }`,
        `  class Local {}`,
        `  log.log("hi", inner(), new Local(), new.target);`,
        `  await save("c", input.id, { n: double(1) });`,
        `  return store.get("c", input.id) ?? (await get("c", input.id));`,
        `}`,
      );
      expect(check(code)).toEqual([]);
    });

    it("accepts an anonymous plain default function with no imports", () => {
      expect(check("export default function () { return 1; }")).toEqual([]);
    });

    it("ignores empty statements, such as the `;` after the function", () => {
      expect(check(`;import log from "gatehouse:log";;\nexport default function () {};\n;`)).toEqual([]);
    });

    it("does not refuse eval or Function: the sandbox contains them", () => {
      expect(check(`export default function () { return eval("1") + Function("return 2")(); }`)).toEqual([]);
    });

    it("accepts a hashbang line, as ES2023 does", () => {
      expect(check(`#!/usr/bin/env gatehouse\n${fn}`)).toEqual([]);
    });
  });

  describe("too-large", () => {
    const padTo = (bytes: number, filler = "x") => {
      const head = `${fn}\n//`;
      return head + filler.repeat((bytes - head.length) / Buffer.byteLength(filler));
    };

    it("accepts exactly 256 KiB and refuses one byte more, at line 0, column 0", () => {
      expect(defaultMaxMacroBytes).toBe(262_144);
      expect(check(padTo(262_144))).toEqual([]);
      expect(check(padTo(262_145))).toEqual([
        {
          line: 0,
          column: 0,
          rule: "too-large",
          message: "code is 262145 bytes (UTF-8); the limit is 262144 bytes (256 KiB)",
        },
      ]);
    });

    it("counts UTF-8 bytes, not characters", () => {
      // `é` is 2 bytes, `😀` 4 (2 UTF-16 units): both strings are well under 256 Ki characters.
      const accented = padTo(262_144 + 40, "é").slice(0, -20);
      expect(Buffer.byteLength(accented)).toBe(262_144);
      expect(check(accented)).toEqual([]);
      expect(at(accented + "é")).toEqual(["too-large@0:0"]);
      const emoji = `${fn}//${"😀".repeat(65_536)}`;
      expect(emoji.length).toBeLessThan(262_144 / 1.5);
      expect(at(emoji)).toEqual(["too-large@0:0"]);
    });

    it("is the only violation: oversized code is not parsed", () => {
      expect(at(`import x from "./x.js"; (((`, { maxBytes: 10 })).toEqual(["too-large@0:0"]);
    });

    it("honours maxBytes", () => {
      expect(check(fn, { maxBytes: fn.length })).toEqual([]);
      expect(check(fn, { maxBytes: fn.length - 1 })[0]!.message).toBe(
        `code is ${fn.length} bytes (UTF-8); the limit is ${fn.length - 1} bytes`,
      );
    });

    it("measures exactly what Buffer.byteLength does, lone surrogates included", () => {
      const text = fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: fc.constantFrom("a", "\ud800", "\udc00", "😀", "é", "€") }));
      fc.assert(
        fc.property(text, (code) => {
          const bytes = Buffer.byteLength(code);
          expect(at(code, { maxBytes: bytes })).not.toContain("too-large@0:0");
          if (bytes > 0) expect(at(code, { maxBytes: bytes - 1 })).toEqual(["too-large@0:0"]);
        }),
      );
    });
  });

  describe("syntax", () => {
    it("reports acorn's position and message, without acorn's own (line:column) suffix", () => {
      expect(check(lines("export default function () {", "  return 1 +;", "}"))).toEqual([
        { line: 2, column: 13, rule: "syntax", message: "Unexpected token" },
      ]);
    });

    it("parses as a module: strict mode, `await` reserved", () => {
      expect(at(lines(fn, "function f() {", "  with (a) {}", "}"))).toEqual(["syntax@3:3"]);
      expect(at("export default function () { var await = 1; }")).toEqual(["syntax@1:34"]);
    });

    it("is the only violation, since the parser stops at the first error", () => {
      expect(at(lines(`import net from "gatehouse:net";`, `const x = ;`))).toEqual(["syntax@2:11"]);
    });

    it("answers deeply nested code with a violation, not a crash", () => {
      const violations = check(`${fn}\nx = ${"[".repeat(100_000)}`);
      expect(violations).toHaveLength(1);
      expect(violations[0]!.rule).toBe("syntax");
      expect(violations[0]!.line).toBe(2);
    });
  });

  describe("import-not-allowed", () => {
    it("names the module and the allowed ones, at the module string", () => {
      expect(check(lines(`import { fetch } from "gatehouse:net";`, fn))).toEqual([
        {
          line: 1,
          column: 23,
          rule: "import-not-allowed",
          message: `import of "gatehouse:net" is not allowed by the policy (allowed: gatehouse:store, gatehouse:log)`,
        },
      ]);
    });

    it("refuses a namespace import of a disallowed module", () => {
      expect(at(lines(`import * as net from "gatehouse:net";`, fn))).toEqual(["import-not-allowed@1:22"]);
    });

    it("refuses any module outside gatehouse:*, even one the policy lists", () => {
      const code = lines(`import fs from "node:fs";`, `import "./helpers.js";`, fn);
      const violations = check(code, { allowedImports: [...allowedImports, "node:fs", "./helpers.js"] });
      expect(violations.map((v) => `${v.rule}@${v.line}:${v.column}`)).toEqual([
        "import-not-allowed@1:16",
        "import-not-allowed@2:8",
      ]);
      expect(violations[0]!.message).toContain("only gatehouse:* host modules");
    });

    it("says `none` when the policy allows no imports", () => {
      expect(check(lines(`import log from "gatehouse:log";`, fn), { allowedImports: [] })[0]!.message).toContain("(allowed: none)");
    });
  });

  describe("import-attributes", () => {
    it("refuses `with { … }` at the first attribute", () => {
      expect(at(lines(`import log from "gatehouse:log" with { type: "json" };`, fn))).toEqual(["import-attributes@1:40"]);
    });

    it("reports the module too when it is not allowed", () => {
      expect(at(lines(`import x from "./x.json" with { type: "json" };`, fn))).toEqual([
        "import-not-allowed@1:15",
        "import-attributes@1:33",
      ]);
    });
  });

  describe("import-position", () => {
    it("refuses an import after the default export", () => {
      expect(at(lines(fn, `import log from "gatehouse:log";`))).toEqual(["import-position@2:1"]);
    });

    it("refuses an import after any other statement, reporting both", () => {
      expect(at(lines(`"use strict";`, `import log from "gatehouse:log";`, fn))).toEqual([
        "top-level-statement@1:1",
        "import-position@2:1",
      ]);
    });
  });

  describe("default-export-kind", () => {
    it.each([
      ["an arrow function", "export default (input) => input;", 16],
      ["an arrow function", "export default async (input) => input;", 16],
      ["a function expression", "export default (function () {});", 17],
      ["a class", "export default class {}", 16],
      ["an expression", "export default 42;", 16],
      ["a generator function", "export default function* gen() {}", 16],
      ["an async generator function", "export default async function* () {}", 16],
    ])("refuses %s (%s), at the exported value", (kind, code, column) => {
      const violations = check(code);
      expect(violations.map((v) => `${v.rule}@${v.line}:${v.column}`)).toEqual([`default-export-kind@1:${column}`]);
      expect(violations[0]!.message).toMatch(new RegExp(`, not ${kind}$`));
    });

    it("refuses `export { f as default }`, which then counts as the default export", () => {
      expect(at(lines("function run() {}", "export { run as default };"))).toEqual([
        "top-level-statement@1:1",
        "default-export-kind@2:1",
      ]);
    });
  });

  describe("duplicate-default-export", () => {
    it("refuses a second default export at its `default` keyword (the parser's check)", () => {
      expect(at(lines(fn, "export default function () {}"))).toEqual(["duplicate-default-export@2:8"]);
    });
  });

  describe("missing-default-export", () => {
    it("is reported at 1:1", () => {
      expect(check(`import log from "gatehouse:log";`)).toEqual([
        expect.objectContaining({ line: 1, column: 1, rule: "missing-default-export" }),
      ]);
    });

    it("is reported for empty code", () => {
      expect(at("")).toEqual(["missing-default-export@1:1"]);
    });
  });

  describe("other-export", () => {
    it.each([
      ["a named const", "export const x = 1;"],
      ["a named function", "export function helper() {}"],
      ["an export list", "export { run };"],
      ["an empty export list", "export {};"],
      ["a star re-export", `export * from "gatehouse:store";`],
      ["a named re-export", `export { get } from "gatehouse:store";`],
      ["a namespace re-export", `export * as store from "gatehouse:store";`],
    ])("refuses %s", (_kind, exportCode) => {
      expect(at(lines("export default function run() {}", exportCode))).toEqual(["other-export@2:1"]);
    });
  });

  describe("top-level-statement", () => {
    it.each([
      ["a helper function", "function helper() {}", /function declaration .*nest helper functions inside the default export function/],
      ["a const", "const limit = 10;", /const declaration/],
      ["a let", "let n;", /let declaration/],
      ["a class", "class Helper {}", /class declaration/],
      ["an expression", "console.log(1);", /expression statement/],
      // A string statement is a directive only at the start of the program.
      ["a directive", `"use strict";`, /^(the directive "use strict"|an expression statement) /],
      ["an if statement", "if (true) {}", /an if statement/],
      ["a block", "{}", /a block statement/],
      ["top-level await", "await 1;", /expression statement/],
    ])("refuses %s, before or after the default export", (_kind, statement, message) => {
      for (const code of [lines(statement, fn), lines(fn, statement)]) {
        const violations = check(code);
        const line = code.startsWith(statement) ? 1 : 2;
        expect(violations).toEqual([expect.objectContaining({ line, column: 1, rule: "top-level-statement" })]);
        expect(violations[0]!.message).toMatch(message);
      }
    });
  });

  describe("dynamic-import", () => {
    it("refuses import() anywhere in the default function", () => {
      const code = lines(
        "export default async function (input, load = () => import(input.m)) {",
        `  const m = await import("gatehouse:" + "net");`,
        "  return { go: async () => (await import(`./${input.x}`)).default };",
        "}",
      );
      expect(at(code)).toEqual(["dynamic-import@1:52", "dynamic-import@2:19", "dynamic-import@3:35"]);
    });

    it("refuses import() with options, and at top level next to the statement", () => {
      expect(at(lines(fn, `const m = await import("x", { with: {} });`))).toEqual([
        "top-level-statement@2:1",
        "dynamic-import@2:17",
      ]);
    });
  });

  describe("import-meta", () => {
    it("refuses import.meta, and not new.target", () => {
      expect(at(lines("export default function () {", "  return [new.target, import.meta.url];", "}"))).toEqual([
        "import-meta@2:23",
      ]);
    });
  });

  describe("several violations", () => {
    it("returns them all, sorted by position", () => {
      const code = lines(
        `import { fetch } from "gatehouse:net";`,
        `const cache = new Map();`,
        `import log from "gatehouse:log" with { type: "json" };`,
        `function helper() { return import.meta; }`,
        `export const version = 2;`,
        `export default (input) => import("./evil.js");`,
      );
      expect(at(code)).toEqual([
        "import-not-allowed@1:23",
        "top-level-statement@2:1",
        "import-position@3:1",
        "import-attributes@3:40",
        "top-level-statement@4:1",
        "import-meta@4:28",
        "other-export@5:1",
        "default-export-kind@6:16",
        "dynamic-import@6:27",
      ]);
    });

    it("caps the answer at maxViolations with a final too-many-violations entry", () => {
      const code = fn + "\n0;".repeat(150);
      const violations = check(code);
      expect(violations).toHaveLength(101);
      expect(violations[99]).toMatchObject({ rule: "top-level-statement", line: 101, column: 1 });
      expect(violations[100]).toEqual({ line: 102, column: 1, rule: "too-many-violations", message: "50 more violations not shown" });
      expect(at(code, { maxViolations: 2 })).toEqual(["top-level-statement@2:1", "top-level-statement@3:1", "too-many-violations@4:1"]);
    });

    it("stays fast on 256 KiB of violations", () => {
      const code = (fn + "\n0;".repeat(100_000)).slice(0, defaultMaxMacroBytes);
      const started = performance.now();
      expect(check(code)).toHaveLength(101);
      const elapsed = performance.now() - started;
      console.log(`checkMacro on 256 KiB of violations: ${elapsed.toFixed(0)} ms`);
      // A guard against a quadratic check (minutes), loose enough for a machine busy with other work.
      expect(elapsed).toBeLessThan(10_000);
    });
  });

  describe("positions", () => {
    it("counts CRLF as one line break", () => {
      const code = [`import net from "gatehouse:net";`, "export default function () {", "  return import.meta;", "}"].join("\r\n");
      expect(at(code)).toEqual(["import-not-allowed@1:17", "import-meta@3:10"]);
      expect(at("export default function () {\r\n\r\n  return 1 +;\r\n}")).toEqual(["syntax@3:13"]);
    });

    it("counts lone CR, LF, U+2028 and U+2029 as line breaks, as ECMAScript does", () => {
      expect(at(`${fn}\r0;\n1;\u20282;\u20293;`)).toEqual([
        "top-level-statement@2:1",
        "top-level-statement@3:1",
        "top-level-statement@4:1",
        "top-level-statement@5:1",
      ]);
    });

    it("counts columns in UTF-16 code units: `é` is 1, an emoji 2", () => {
      const code = lines("export default function () {", `  const s = "é😀"; return import(s);`, "}");
      // 2 spaces + `const s = "` (11) + é (1) + 😀 (2) + `"; return ` (10) → import at 27.
      expect(at(code)).toEqual(["dynamic-import@2:27"]);
      expect(at(`/* 😀😀 */ ${fn}\n/* é */ x;`)).toEqual(["top-level-statement@2:9"]);
      expect(at(`${fn}\n/* 😀 */ 1 +;`)).toEqual(["syntax@2:13"]);
    });

    it("agrees with acorn's own line and column on any syntax error", () => {
      const unit = fc.constantFrom("\r\n", "\r", "\n", "\u2028", "\u2029", "😀", "é", "\t", "x", " ", "(", ")", ";", "+");
      fc.assert(
        fc.property(fc.string({ unit }), (code) => {
          let loc: { line: number; column: number } | undefined;
          try {
            parse(code, { ecmaVersion: "latest", sourceType: "module" });
          } catch (err) {
            loc = (err as { loc: { line: number; column: number } }).loc;
          }
          fc.pre(loc !== undefined);
          expect(check(code)).toEqual([expect.objectContaining({ rule: "syntax", line: loc!.line, column: loc!.column + 1 })]);
        }),
      );
    });

    it("counts a tab as one column", () => {
      expect(at(`${fn}\n\t\tx;`)).toEqual(["top-level-statement@2:3"]);
    });
  });
});
