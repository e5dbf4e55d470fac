import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { matchHostGlob } from "../../src/domain/host-glob.js";
import { compilePathGlob } from "../../src/domain/path-glob.js";
import { checkRequestResource, checkResource, createRuleIndex, validateRule, validateRuleQuery, type Rule, type RuleAction } from "../../src/domain/rules.js";

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
    ...["store.read", "store.write", "store.delete", "macro.run"].map((action) => ({ action, resource: "invoices/*" })),
    ...["store.read", "store.write", "store.delete", "store.list", "macro.run"].map((action) => ({ action, resource: "invoices" })),
    { action: "store.write", resource: "notes/n-*" },
    { action: "store.write", resource: "notes/2024-01-*.draft" },
    { action: "macro.run", resource: "reports/**" },
    { action: "macro.run", resource: "reports/daily.js" },
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
    [{ action: "store.read", resource: "a/b/c" }, "resource"],
    [{ action: "store.read", resource: "inv*" }, "resource"],
    [{ action: "store.read", resource: "*/1" }, "resource"],
    [{ action: "store.write", resource: "notes/" }, "resource"],
    [{ action: "store.write", resource: "no.tes/1" }, "resource"],
    [{ action: "store.list", resource: "invoices/*" }, "resource"],
    [{ action: "store.list", resource: "invoices/1" }, "resource"],
    [{ action: "macro.run", resource: "a//b" }, "resource"],
    [{ action: "net.fetch", resource: "notes/1" }, "resource"],
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

  it.each([
    ["store.write", "notes/n1", true],
    ["store.write", "notes", false],
    ["store.write", "notes/*", false],
    ["store.read", "notes/a/b", false],
    ["store.list", "notes", true],
    ["store.list", "notes/n1", false],
    ["net.fetch", "api.example.com:8443", true],
    ["net.fetch", "*.example.com", false],
    ["macro.run", "reports/daily", true],
    ["macro.run", "reports/*", false],
  ] as const)("takes only the concrete resource enforcement uses: %s %s → %s", (action, resource, ok) => {
    expect(checkRequestResource(action, resource) === undefined).toBe(ok);
    expect(validateRuleQuery({ subjects: [], action, resource }).length === 0).toBe(ok);
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
      rule("allow-reports", "*", "store.read", "reports", "allow"),
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
      expect(ask(index, "store.read", "reports/q1", false, []).allowed).toBe(true);
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

    it("applies action `*` rules to every action whose form the resource fits, and others only to theirs", () => {
      for (const action of ["store.read", "store.write", "store.delete", "macro.run"] as const) {
        expect(ask(index, action, "secrets/key", true, ["role:editor"]).decidingRuleIds).toEqual(["deny-all-secrets"]);
      }
      // `secrets/**` is no collection: it does not apply to store.list.
      expect(ask(index, "store.list", "secrets", true, ["role:editor"]).allowed).toBe(true);
      expect(ask(index, "store.list", "invoices", false, ["role:editor"]).allowed).toBe(true);
      expect(ask(index, "store.read", "invoices/1", false, ["role:editor"]).allowed).toBe(false);
    });

    it("matches a bare `*` resource on every action, hosts on any port included", () => {
      expect(ask(index, "net.fetch", "api.example.com:8443", true, [`macro:${macroId}`]).decidingRuleIds).toEqual(["deny-everything"]);
      expect(ask(index, "store.read", "a/b", true, [`macro:${macroId}`]).decidingRuleIds).toEqual(["deny-everything"]);
      expect(ask(index, "macro.run", "reports/daily", true, [`macro:${macroId}`]).decidingRuleIds).toEqual(["deny-everything"]);
    });

    it("throws on an action that is not a concrete rule action", () => {
      expect(() => index.evaluate({ subjects: [], action: "*" as RuleAction, resource: "x", baselineAllowed: true })).toThrow(RangeError);
    });
  });

  describe("store resources: `collection` is every record of it", () => {
    const index = createRuleIndex([
      rule("collection", "*", "store.read", "invoices", "allow"),
      rule("records", "*", "store.write", "invoices/*", "allow"),
      rule("prefix", "*", "store.delete", "archive/2020-*", "allow"),
      rule("one", "*", "store.delete", "archive/keep", "allow"),
      rule("list", "*", "store.list", "invoices", "allow"),
      rule("deny-notes", "*", "store.write", "notes", "deny"),
    ]);
    it.each([
      ["store.read", "invoices/1", true],
      ["store.read", "invoicesX/1", false],
      ["store.write", "invoices/1", true],
      ["store.write", "invoicesX/1", false],
      ["store.delete", "archive/2020-01", true],
      ["store.delete", "archive/2021-01", false],
      ["store.delete", "archive/keep", true],
      ["store.delete", "archive/keeper", false],
      ["store.list", "invoices", true],
      ["store.list", "invoicesX", false],
    ] as const)("%s %s → %s", (action, resource, allowed) => {
      expect(ask(index, action, resource, false).allowed).toBe(allowed);
    });

    it("lets a DENY on a collection refuse a write to any of its records", () => {
      expect(ask(index, "store.write", "notes/n1", true)).toMatchObject({ allowed: false, decidingRuleIds: ["deny-notes"] });
      expect(ask(index, "store.write", "notesX/n1", true).allowed).toBe(true);
    });
  });

  describe("macro-name globs", () => {
    const index = createRuleIndex([
      rule("reports", "*", "macro.run", "reports/*", "deny"),
      rule("deep", "*", "macro.run", "admin/**", "deny"),
      rule("one", "*", "macro.run", "wipe.js", "deny"),
    ]);
    it.each([
      ["reports/daily", false],
      ["reports/daily/extra", true],
      ["reportsX/daily", true],
      ["admin/a/b", false],
      ["wipe.js", false],
      ["wipe.jsx", true],
    ])("macro.run %s → %s", (name, allowed) => {
      expect(ask(index, "macro.run", name, true).allowed).toBe(allowed);
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

    it("reads an action `*` rule's resource in the evaluated action's form", () => {
      // As a macro-name glob, `*` spans dots: one segment `x.y.internal.org`.
      expect(ask(index, "macro.run", "x.y.internal.org", false).matchedRuleIds).toEqual(["any-action-one"]);
      expect(ask(index, "macro.run", "x/internal.org", false).allowed).toBe(false);
      // `**.corp.org` is no name glob (`**` must be a whole segment) and no collection: hosts only.
      expect(ask(index, "macro.run", "x.corp.org", false).allowed).toBe(false);
      expect(ask(index, "store.read", "x/y", false).allowed).toBe(false);
    });
  });

  describe("malformed stored rules", () => {
    const index = createRuleIndex([
      rule("old-list-deny", "role:editor", "store.list", "ledger/*", "deny"),
      rule("old-allow", "*", "store.read", "a/b/c", "allow"),
      rule("bad-subject", "someone", "store.read", "x", "deny"),
      rule("good", "*", "store.read", "x", "allow"),
    ]);

    it("reports every rule that does not parse, with what is wrong", () => {
      expect(index.size).toBe(4);
      expect(index.malformed.map((m) => [m.id, m.problems.map((p) => p.field)])).toEqual([
        ["old-list-deny", ["resource"]],
        ["old-allow", ["resource"]],
        ["bad-subject", ["subject"]],
      ]);
    });

    it("enforces a malformed DENY fail-closed: every resource of its action, for its subject", () => {
      expect(ask(index, "store.list", "anything", true, ["role:editor"])).toMatchObject({ allowed: false, decidingRuleIds: ["old-list-deny"] });
      expect(ask(index, "store.list", "anything", true, ["role:viewer"]).allowed).toBe(true);
      expect(ask(index, "store.read", "anything/1", true, ["role:editor"]).allowed).toBe(true);
    });

    it("never lets a malformed ALLOW allow, and ignores a rule whose subject cannot be read", () => {
      expect(ask(index, "store.read", "a/b", false).allowed).toBe(false);
      expect(ask(index, "store.read", "x/1", true)).toMatchObject({ allowed: true, matchedRuleIds: ["good"] });
    });
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
    for (const resource of ["c3/x", "c12/y", "nothing/z"]) {
      const collection = resource.split("/")[0]!;
      const expected = rules
        .filter((r) => (r.subject === "*" || who.includes(r.subject)) && (r.action === "*" || r.action === "store.read"))
        .filter((r) => r.resource === collection || r.resource === `${collection}/*`)
        .map((r) => r.id);
      expect(index.evaluate({ subjects: who, action: "store.read", resource, baselineAllowed: false }).matchedRuleIds).toEqual(expected);
    }
  });

  it("matches exactly the rules a full scan matches", () => {
    const hostGlobs = ["*", "a.example.com", "a.example.com:8443", "*.example.com", "**.example.com", "*.example.com:*", "example.com:*", "*:8443"];
    const storeGlobs = ["*", "c1", "c2", "c1/*", "c1/r*", "c1/*r", "c1/x", "c*/x", "c1/x/lines", "**"];
    const nameGlobs = ["*", "c1", "c1/*", "c1/**", "c1/r*", "**/lines", "c*/x", "c1/x/lines", "**"];
    const subjectPool = ["*", "role:a", "role:b", `user:${userId}`];
    const actions: RuleAction[] = ["store.read", "store.write", "store.delete", "store.list", "net.fetch", "macro.run"];
    const ruleArb = fc.record({
      subject: fc.constantFrom(...subjectPool),
      action: fc.constantFrom<RuleAction | "*">("*", ...actions),
      resource: fc.constantFrom(...new Set([...hostGlobs, ...storeGlobs, ...nameGlobs])),
      deny: fc.boolean(),
    });
    const requests: Record<RuleAction, string[]> = {
      "store.read": ["c1/x", "c1/r2", "c1/xr", "c2/x", "c3/lines"],
      "store.write": ["c1/x", "c1/r2", "c2/x"],
      "store.delete": ["c1/x", "c1/rr", "c2/y"],
      "store.list": ["c1", "c2", "c3"],
      "net.fetch": ["a.example.com", "a.example.com:8443", "b.a.example.com", "example.com", "example.com:80", "x.org:8443", "A.Example.com"],
      "macro.run": ["c1", "c1/x", "c1/r2", "c1/x/lines", "c2/x", "lines", "c1/x/y"],
    };
    const queryArb = fc.constantFrom(...actions).chain((action) =>
      fc.record({ subjects: fc.subarray(subjectPool.slice(1)), action: fc.constant(action), resource: fc.constantFrom(...requests[action]) }),
    );
    // A reference matcher written apart from the index: `*` in an id glob is any run of characters.
    const wildcard = (glob: string, text: string): boolean => {
      if (glob === "") return text === "";
      if (glob[0] === "*") return wildcard(glob.slice(1), text) || (text !== "" && wildcard(glob, text.slice(1)));
      return text !== "" && glob[0] === text[0] && wildcard(glob.slice(1), text.slice(1));
    };
    const fits = (action: RuleAction, glob: string, resource: string): boolean => {
      if (glob === "*") return true;
      if (checkResource(action, glob) !== undefined) return false;
      if (action === "net.fetch") return matchHostGlob(glob, resource);
      if (action === "macro.run") return compilePathGlob(glob).test(resource);
      if (action === "store.list") return glob === resource;
      const [collection, id] = resource.split("/") as [string, string];
      const slash = glob.indexOf("/");
      if (slash < 0) return glob === collection;
      return glob.slice(0, slash) === collection && wildcard(glob.slice(slash + 1), id);
    };
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 40 }), fc.array(queryArb, { minLength: 1, maxLength: 10 }), (specs, queries) => {
        const rules = specs.map((r, i) => rule(`r${i}`, r.subject, r.action, r.resource, r.deny ? "deny" : "allow"));
        const index = createRuleIndex(rules);
        for (const q of queries) {
          const expected = rules
            .filter((r) => r.subject === "*" || q.subjects.includes(r.subject))
            .filter((r) => {
              const malformed = validateRule(r).length > 0;
              if (r.action !== "*" && r.action !== q.action) return false;
              // A malformed rule: a DENY matches everything of its action, an ALLOW nothing.
              if (malformed) return r.effect === "deny";
              return fits(q.action, r.resource, q.resource);
            })
            .map((r) => r.id);
          expect(checkRequestResource(q.action, q.resource)).toBeUndefined();
          expect(index.evaluate({ subjects: q.subjects, action: q.action, resource: q.resource, baselineAllowed: false }).matchedRuleIds).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  });
});
