import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { matchHostGlob, parseHostGlob } from "../../src/domain/host-glob.js";
import { checkPathGlob, compilePathGlob } from "../../src/domain/path-glob.js";
import { createRuleIndex, validateRule, validateRuleQuery, type Rule, type RuleAction } from "../../src/domain/rules.js";

const userId = "6f1c2a9e-1b2c-4d3e-8f90-a1b2c3d4e5f6";
const roomId = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const macroId = "11111111-2222-4333-8444-555555555555";

describe("validateRule", () => {
  const valid = { subject: "*", action: "store.read", resource: "invoices", effect: "allow" };

  it.each([
    { subject: "*" },
    { subject: `user:${userId}` },
    { subject: `room:${roomId}` },
    { subject: `macro:${macroId}` },
    { subject: "role:editor" },
    { subject: "role:Data-Team_2" },
    { action: "*" },
    ...["store.read", "store.write", "store.delete", "store.list", "macro.run"].map((action) => ({ action, resource: "invoices/*" })),
    { action: "net.fetch", resource: "*.example.com" },
    { action: "net.fetch", resource: "api.example.com:8443" },
    { action: "net.fetch", resource: "*" },
    { resource: "invoices/**" },
    { resource: "*" },
    { action: "*", resource: "*.example.com" },
    { action: "*", resource: "invoices/*" },
    { effect: "deny" },
  ])("accepts %j", (change) => {
    expect(validateRule({ ...valid, ...change })).toEqual([]);
  });

  it.each([
    [{ subject: "" }, "subject"],
    [{ subject: "user" }, "subject"],
    [{ subject: "user:" }, "subject"],
    [{ subject: "user:alice" }, "subject"],
    [{ subject: `user:${userId.toUpperCase()}` }, "subject"],
    [{ subject: `room:${roomId}x` }, "subject"],
    [{ subject: "role:" }, "subject"],
    [{ subject: "role:a b" }, "subject"],
    [{ subject: "group:x" }, "subject"],
    [{ subject: "**" }, "subject"],
    [{ action: "" }, "action"],
    [{ action: "store" }, "action"],
    [{ action: "store.*" }, "action"],
    [{ action: "STORE.READ" }, "action"],
    [{ action: "net.fetch", resource: "invoices/*" }, "resource"],
    [{ action: "net.fetch", resource: "a.*.com" }, "resource"],
    [{ action: "store.read", resource: "" }, "resource"],
    [{ action: "store.read", resource: "/invoices" }, "resource"],
    [{ action: "store.read", resource: "a//b" }, "resource"],
    [{ action: "store.read", resource: "a/**x" }, "resource"],
    [{ action: "*", resource: "a b" }, "resource"],
    [{ effect: "" }, "effect"],
    [{ effect: "ALLOW" }, "effect"],
  ])("refuses %j, naming %s", (change, field) => {
    const input: Record<string, string> = { ...valid, ...change };
    const problems = validateRule(input as typeof valid);
    expect(problems.map((p) => p.field)).toEqual([field]);
    expect(problems[0]!.attempted).toBe(input[field]);
  });

  it("names every malformed field at once", () => {
    expect(validateRule({ subject: "x", action: "y", resource: "", effect: "z" }).map((p) => p.field)).toEqual([
      "subject",
      "action",
      "resource",
      "effect",
    ]);
  });
});

describe("validateRuleQuery", () => {
  it("accepts a concrete query and refuses `*` as an action", () => {
    expect(validateRuleQuery({ subjects: [`user:${userId}`, "role:editor"], action: "net.fetch", resource: "a.com" })).toEqual([]);
    expect(validateRuleQuery({ subjects: ["nobody"], action: "*", resource: "" }).map((p) => p.field)).toEqual(["subjects", "action", "resource"]);
  });
});

function rule(id: string, subject: string, action: RuleAction | "*", resource: string, effect: "allow" | "deny"): Rule {
  return { id, subject, action, resource, effect };
}

describe("createRuleIndex evaluate", () => {
  const subjects = [`user:${userId}`, "role:editor", `room:${roomId}`, `macro:${macroId}`];
  const ask = (index: ReturnType<typeof createRuleIndex>, action: RuleAction, resource: string, baselineAllowed: boolean, who = subjects) =>
    index.evaluate({ subjects: who, action, resource, baselineAllowed });

  describe("precedence", () => {
    const index = createRuleIndex([
      rule("allow-invoices", "role:editor", "store.write", "invoices/*", "allow"),
      rule("deny-locked", `room:${roomId}`, "store.write", "invoices/locked", "deny"),
      rule("allow-reports", "*", "store.read", "reports/**", "allow"),
    ]);

    it("lets a DENY beat an ALLOW and the baseline", () => {
      for (const baseline of [true, false]) {
        expect(ask(index, "store.write", "invoices/locked", baseline)).toEqual({
          allowed: false,
          matchedRuleIds: ["allow-invoices", "deny-locked"],
          decidingRuleIds: ["deny-locked"],
          reason: "denied-by-rule",
        });
      }
    });

    it("allows on the baseline alone", () => {
      expect(ask(index, "store.delete", "invoices/1", true)).toEqual({
        allowed: true,
        matchedRuleIds: [],
        decidingRuleIds: [],
        reason: "allowed-by-baseline",
      });
    });

    it("allows through an ALLOW rule without the baseline", () => {
      expect(ask(index, "store.write", "invoices/1", false)).toEqual({
        allowed: true,
        matchedRuleIds: ["allow-invoices"],
        decidingRuleIds: ["allow-invoices"],
        reason: "allowed-by-rule",
      });
    });

    it("refuses without the baseline and without an ALLOW", () => {
      expect(ask(index, "store.delete", "invoices/1", false)).toEqual({
        allowed: false,
        matchedRuleIds: [],
        decidingRuleIds: [],
        reason: "not-allowed",
      });
    });

    it("applies `*` subject rules to everyone, and other subjects' rules to nobody else", () => {
      expect(ask(index, "store.read", "reports/2024/q1", false, []).allowed).toBe(true);
      expect(ask(index, "store.write", "invoices/1", false, ["role:viewer"]).allowed).toBe(false);
    });

    it("does not count a subject twice", () => {
      expect(ask(index, "store.write", "invoices/1", false, ["role:editor", "role:editor", "*"]).matchedRuleIds).toEqual(["allow-invoices"]);
    });
  });

  describe("actions", () => {
    const index = createRuleIndex([
      rule("deny-all-secrets", "*", "*", "secrets/**", "deny"),
      rule("allow-list", "role:editor", "store.list", "invoices", "allow"),
      rule("deny-everything", `macro:${macroId}`, "*", "*", "deny"),
    ]);

    it("applies action `*` rules to every action, and others only to theirs", () => {
      for (const action of ["store.read", "store.write", "store.delete", "store.list", "macro.run"] as const) {
        expect(ask(index, action, "secrets/key", true, ["role:editor"]).decidingRuleIds).toEqual(["deny-all-secrets"]);
      }
      expect(ask(index, "store.list", "invoices", false, ["role:editor"]).allowed).toBe(true);
      expect(ask(index, "store.read", "invoices", false, ["role:editor"]).allowed).toBe(false);
    });

    it("matches a bare `*` resource on every action, hosts on any port included", () => {
      expect(ask(index, "net.fetch", "api.example.com:8443", true, [`macro:${macroId}`]).decidingRuleIds).toEqual(["deny-everything"]);
      expect(ask(index, "store.read", "a/b/c", true, [`macro:${macroId}`]).decidingRuleIds).toEqual(["deny-everything"]);
    });

    it("throws on an action that is not a concrete rule action", () => {
      expect(() => index.evaluate({ subjects: [], action: "*" as RuleAction, resource: "x", baselineAllowed: true })).toThrow(RangeError);
    });
  });

  describe("collection globs", () => {
    const index = createRuleIndex([
      rule("collection", "*", "store.read", "invoices", "allow"),
      rule("records", "*", "store.write", "invoices/*", "allow"),
      rule("tree", "*", "store.delete", "archive/**", "allow"),
    ]);
    it.each([
      ["store.read", "invoices", true],
      ["store.read", "invoices/1", false],
      ["store.write", "invoices/1", true],
      ["store.write", "invoices", false],
      ["store.write", "invoices/1/lines", false],
      ["store.write", "invoicesX/1", false],
      ["store.delete", "archive", true],
      ["store.delete", "archive/2020/01", true],
      ["store.delete", "archived/1", false],
    ] as const)("%s %s → %s", (action, resource, allowed) => {
      expect(ask(index, action, resource, false).allowed).toBe(allowed);
    });
  });

  describe("host globs", () => {
    const index = createRuleIndex([
      rule("allow-sub", "*", "net.fetch", "*.example.com", "allow"),
      rule("allow-exact", "*", "net.fetch", "api.partner.net:8443", "allow"),
      rule("deny-admin", "*", "net.fetch", "admin.example.com", "deny"),
      rule("any-action-one", "role:editor", "*", "*.internal.org", "allow"),
      rule("any-action-many", "role:editor", "*", "**.corp.org", "allow"),
    ]);
    it.each([
      ["a.example.com", true],
      ["A.EXAMPLE.COM", true],
      ["example.com", false],
      ["example.com.evil.net", false],
      ["a.example.com.evil.net", false],
      ["a.b.example.com", false],
      ["a.example.com:8080", false],
      ["admin.example.com", false],
      ["ADMIN.example.com.", false],
      ["api.partner.net:8443", true],
      ["api.partner.net", false],
      ["x.internal.org", true],
      ["x.y.internal.org", false],
      ["internal.org", false],
      ["x.y.corp.org", true],
      ["corp.org", false],
      ["[::1]", false],
    ])("net.fetch %s → %s", (host, allowed) => {
      expect(ask(index, "net.fetch", host, false).allowed).toBe(allowed);
    });

    it("reads an action `*` rule's resource in the evaluated action's grammar", () => {
      // As a path glob, `*` spans dots: one segment `x.y.internal.org`.
      expect(ask(index, "store.read", "x.y.internal.org", false).matchedRuleIds).toEqual(["any-action-one"]);
      expect(ask(index, "store.read", "x/internal.org", false).allowed).toBe(false);
      // `**.corp.org` is no path glob (`**` must be a whole segment): hosts only.
      expect(ask(index, "store.read", "x.corp.org", false).allowed).toBe(false);
    });
  });

  it("refuses to index a malformed rule", () => {
    expect(() => createRuleIndex([rule("bad", "someone", "store.read", "x", "deny")])).toThrow(/bad/);
  });

  it("finds the same rules as a full scan in a large tenant", () => {
    const rules: Rule[] = [];
    for (let i = 0; i < 2000; i++) {
      const subject = i % 10 === 0 ? "*" : i % 3 === 0 ? `role:r${i % 7}` : `room:${roomId.slice(0, -4)}${String(i % 50).padStart(4, "0")}`;
      rules.push(rule(`r${i}`, subject, i % 4 === 0 ? "*" : "store.read", i % 5 === 0 ? `c${i % 13}/*` : `c${i % 13}`, i % 6 === 0 ? "deny" : "allow"));
    }
    const index = createRuleIndex(rules);
    expect(index.size).toBe(2000);
    const who = ["role:r3", `room:${roomId.slice(0, -4)}0007`];
    for (const resource of ["c3", "c3/x", "c12", "nothing"]) {
      const expected = rules
        .filter((r) => (r.subject === "*" || who.includes(r.subject)) && (r.action === "*" || r.action === "store.read"))
        .filter((r) => (r.resource.endsWith("/*") ? resource.startsWith(r.resource.slice(0, -1)) : resource === r.resource))
        .map((r) => r.id);
      expect(index.evaluate({ subjects: who, action: "store.read", resource, baselineAllowed: false }).matchedRuleIds).toEqual(expected);
    }
  });

  it("matches exactly the rules a full scan matches", () => {
    const hostGlobs = ["*", "a.example.com", "a.example.com:8443", "*.example.com", "**.example.com", "*.example.com:*", "example.com:*", "*:8443"];
    const pathGlobs = ["*", "c1", "c1/*", "c1/**", "c1/r*", "**/lines", "c*/x", "c1/x/lines", "**"];
    const subjectPool = ["*", "role:a", "role:b", `user:${userId}`];
    const ruleArb = fc.record({
      subject: fc.constantFrom(...subjectPool),
      action: fc.constantFrom<RuleAction | "*">("*", "net.fetch", "store.read", "store.write"),
      host: fc.constantFrom(...hostGlobs),
      path: fc.constantFrom(...pathGlobs),
      deny: fc.boolean(),
    });
    const queryArb = fc.record({
      subjects: fc.subarray(subjectPool.slice(1)),
      action: fc.constantFrom<RuleAction>("net.fetch", "store.read", "store.write"),
      host: fc.constantFrom("a.example.com", "a.example.com:8443", "b.a.example.com", "example.com", "example.com:80", "x.org:8443", "A.Example.com"),
      path: fc.constantFrom("c1", "c1/x", "c1/r2", "c1/x/lines", "c2/x", "lines", "c1/x/y"),
    });
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 40 }), fc.array(queryArb, { minLength: 1, maxLength: 10 }), (specs, queries) => {
        const rules = specs.map((r, i) =>
          rule(`r${i}`, r.subject, r.action, r.action === "net.fetch" || (r.action === "*" && i % 2 === 0) ? r.host : r.path, r.deny ? "deny" : "allow"),
        );
        const index = createRuleIndex(rules);
        for (const q of queries) {
          const resource = q.action === "net.fetch" ? q.host : q.path;
          const expected = rules
            .filter((r) => r.subject === "*" || q.subjects.includes(r.subject))
            .filter((r) => r.action === "*" || r.action === q.action)
            .filter((r) => {
              if (r.resource === "*") return true;
              if (q.action === "net.fetch") return parseHostGlob(r.resource) !== undefined && matchHostGlob(r.resource, resource);
              return checkPathGlob(r.resource) === undefined && compilePathGlob(r.resource).test(resource);
            })
            .map((r) => r.id);
          expect(index.evaluate({ subjects: q.subjects, action: q.action, resource, baselineAllowed: false }).matchedRuleIds).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  });
});
