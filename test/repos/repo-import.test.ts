import { describe, expect, it } from "vitest";
import { hostModules } from "../../src/domain/policy.js";
import { macroNameOf, planImport, type ExistingMacro } from "../../src/repos/repo-import.js";
import { checkRef, normalizePath, normalizeRepoUrl } from "../../src/repos/repo-settings.js";
import { domainRefusalOf } from "../support/refusals.js";

const repoId = "11111111-1111-4111-8111-111111111111";
const otherRepo = "22222222-2222-4222-8222-222222222222";
const ok = (n: number) => `export default function () { return ${n}; }\n`;
const file = (path: string, code: string | Buffer) => ({ path, content: Buffer.isBuffer(code) ? code : Buffer.from(code) });
const macro = (id: string, name: string, code: string, source: Partial<ExistingMacro> = {}): ExistingMacro => ({
  id,
  name,
  code,
  sourceKind: "repo",
  sourceRepoId: repoId,
  sourcePath: `m/${name}.js`,
  ...source,
});

describe("macroNameOf", () => {
  it("names a file by its path under the base path, without .js", () => {
    expect(macroNameOf("m/reports/sum.js", "m")).toBe("reports/sum");
    expect(macroNameOf("sum.js", "")).toBe("sum");
    expect(macroNameOf("a/b/c.js", "a/b")).toBe("c");
  });
});

describe("planImport", () => {
  it("creates new macros, changes changed ones, keeps unchanged ones and removes the gone ones", () => {
    const existing = [macro("a", "same", ok(1)), macro("b", "changed", ok(1)), macro("c", "gone", ok(1)), macro("d", "manual", ok(1), { sourceKind: "manual", sourceRepoId: null, sourcePath: null })];
    const plan = planImport([file("m/same.js", ok(1)), file("m/changed.js", ok(2)), file("m/new.js", ok(3))], "m", repoId, existing, hostModules);
    expect(plan.violations).toEqual([]);
    expect(plan.macros.map((m) => [m.name, m.id, m.changed])).toEqual([
      ["same", "a", false],
      ["changed", "b", true],
      ["new", undefined, true],
    ]);
    expect(plan.removed).toEqual([{ id: "c", name: "gone", path: "m/gone.js" }]);
  });

  it("reports AST violations with file, line and column", () => {
    const plan = planImport([file("m/bad.js", 'import x from "node:fs";\nexport default function () {}\n'), file("m/good.js", ok(1))], "m", repoId, [], hostModules);
    expect(plan.violations).toEqual([expect.objectContaining({ file: "m/bad.js", line: 1, column: 15, rule: "import-not-allowed" })]);
  });

  it("checks imports against the policy's allowed_imports", () => {
    const code = 'import { fetch } from "gatehouse:net";\nexport default function () {}\n';
    expect(planImport([file("a.js", code)], "", repoId, [], ["gatehouse:net"]).violations).toEqual([]);
    expect(planImport([file("a.js", code)], "", repoId, [], ["gatehouse:log"]).violations[0]).toMatchObject({ file: "a.js", rule: "import-not-allowed", line: 1 });
  });

  it("refuses a name taken by a manual macro or another repo's macro, not by its own", () => {
    const existing = [
      macro("m1", "mine", ok(1), { sourceKind: "manual", sourceRepoId: null, sourcePath: null }),
      macro("o1", "theirs", ok(1), { sourceRepoId: otherRepo, sourcePath: "theirs.js" }),
    ];
    const plan = planImport([file("mine.js", ok(1)), file("theirs.js", ok(1))], "", repoId, existing, hostModules);
    expect(plan.violations.map((v) => [v.file, v.rule])).toEqual([
      ["mine.js", "name-taken"],
      ["theirs.js", "name-taken"],
    ]);
  });

  it("matches a macro by its source path, renaming it when the base path changes", () => {
    const plan = planImport([file("m/x.js", ok(1))], "m", repoId, [macro("a", "m/x", ok(1), { sourcePath: "m/x.js" })], hostModules);
    expect(plan.macros[0]).toMatchObject({ id: "a", name: "x", renamed: true, changed: true });
    expect(plan.removed).toEqual([]);
  });

  it("reports files that are no UTF-8 or no valid macro name", () => {
    const plan = planImport([file("bad name.js", ok(1)), file("latin.js", Buffer.from([0xff, 0xfe, 0x41]))], "", repoId, [], hostModules);
    expect(plan.violations.map((v) => [v.file, v.rule])).toEqual([
      ["bad name.js", "bad-name"],
      ["latin.js", "encoding"],
    ]);
  });

  it("reports a file over the size limit as too-large", () => {
    const plan = planImport([file("big.js", `${ok(1)}//${"x".repeat(300)}`)], "", repoId, [], hostModules, 100);
    expect(plan.violations[0]).toMatchObject({ file: "big.js", rule: "too-large" });
  });
});

describe("repo settings", () => {
  const policy = { allowedHosts: ["git.example.com"] };

  it("normalizes the URL and refuses queries, fragments and other schemes", () => {
    expect(normalizeRepoUrl(" https://git.example.com/a/b.git/ ", policy)).toBe("https://git.example.com/a/b.git");
    expect(domainRefusalOf(() => normalizeRepoUrl("https://git.example.com/a.git?x=1", policy)).facts.field).toBe("url");
    expect(domainRefusalOf(() => normalizeRepoUrl("https://git.example.com/a.git#frag", policy)).facts.field).toBe("url");
    expect(domainRefusalOf(() => normalizeRepoUrl("ssh://git.example.com/a.git", policy)).kind).toBe("invalid_argument");
    expect(domainRefusalOf(() => normalizeRepoUrl("", policy)).facts.field).toBe("url");
  });

  it("accepts branch and tag names and refuses malformed refs", () => {
    for (const ref of ["", "main", "release/1.2", "v1.0.0", "refs/heads/main", "feature_x+y"]) expect(checkRef(ref)).toBe(ref);
    for (const ref of ["-x", "a..b", ".hidden", "a/.b", "x.lock", "a//b", "a b", "a~1", "a^", "a:b", "x".repeat(201), "HEAD@{1}"]) {
      expect(domainRefusalOf(() => checkRef(ref)).facts.field).toBe("ref");
    }
  });

  it("normalizes folder paths and refuses . and .. parts", () => {
    expect(normalizePath("/macros/")).toBe("macros");
    expect(normalizePath("src/macros")).toBe("src/macros");
    expect(normalizePath("")).toBe("");
    for (const path of ["..", "a/../b", "./a", "a//b", ".git", "a b", "a\\b"]) expect(domainRefusalOf(() => normalizePath(path)).facts.field).toBe("path");
  });
});
