import { describe, expect, it } from "vitest";
import { checkTightenOnly, validatePolicy } from "../../src/domain/policy-check.js";
import { defaultPolicy, policyFields, type EffectivePolicy } from "../../src/domain/policy.js";

const parent: EffectivePolicy = {
  ...defaultPolicy,
  timeoutMs: 2000,
  networkEnabled: true,
  allowRoomTokens: false,
  allowedHosts: ["*.example.com", "api.example.org:8443"],
  allowedImports: ["gatehouse:store", "gatehouse:log"],
};

describe("checkTightenOnly", () => {
  it("accepts an empty layer: unset fields inherit", () => {
    expect(checkTightenOnly(parent, {})).toEqual([]);
  });

  it("accepts every field at the parent's value", () => {
    expect(checkTightenOnly(parent, { ...parent })).toEqual([]);
  });

  describe("numbers", () => {
    it.each(policyFields.filter((f) => f.kind === "number"))("refuses $name above the parent, naming both values", (field) => {
      const parentValue = parent[field.key] as number;
      expect(checkTightenOnly(parent, { [field.key]: parentValue + 1 })).toEqual([
        { field: field.name, attempted: String(parentValue + 1), parent: String(parentValue) },
      ]);
    });

    it.each(policyFields.filter((f) => f.kind === "number"))("accepts $name at or below the parent, and zero", (field) => {
      const parentValue = parent[field.key] as number;
      expect(checkTightenOnly(parent, { [field.key]: parentValue })).toEqual([]);
      expect(checkTightenOnly(parent, { [field.key]: parentValue - 1 })).toEqual([]);
      expect(checkTightenOnly(parent, { [field.key]: 0 })).toEqual([]);
    });
  });

  describe("booleans", () => {
    it("refuses true where the parent is false", () => {
      expect(checkTightenOnly(parent, { allowRoomTokens: true })).toEqual([
        { field: "allow_room_tokens", attempted: "true", parent: "false" },
      ]);
      expect(checkTightenOnly({ ...parent, networkEnabled: false }, { networkEnabled: true })).toEqual([
        { field: "network_enabled", attempted: "true", parent: "false" },
      ]);
    });

    it("accepts true to false, false to false and true to true", () => {
      expect(checkTightenOnly(parent, { networkEnabled: false, allowRoomTokens: false })).toEqual([]);
      expect(checkTightenOnly(parent, { networkEnabled: true })).toEqual([]);
    });
  });

  describe("lists", () => {
    it("refuses an import the parent does not allow, naming the entries", () => {
      expect(checkTightenOnly(parent, { allowedImports: ["gatehouse:store", "gatehouse:net"] })).toEqual([
        {
          field: "allowed_imports",
          attempted: '["gatehouse:store","gatehouse:net"]',
          parent: '["gatehouse:store","gatehouse:log"]',
          notCovered: ["gatehouse:net"],
        },
      ]);
    });

    it("accepts a subset, the same list and the empty list", () => {
      expect(checkTightenOnly(parent, { allowedImports: ["gatehouse:log"] })).toEqual([]);
      expect(checkTightenOnly(parent, { allowedImports: ["gatehouse:log", "gatehouse:store"] })).toEqual([]);
      expect(checkTightenOnly(parent, { allowedImports: [], allowedHosts: [] })).toEqual([]);
    });

    it("compares hosts as globs: a child glob must be covered by a parent glob", () => {
      expect(checkTightenOnly(parent, { allowedHosts: ["a.example.com", "*.example.com", "API.example.org:8443"] })).toEqual([]);
      expect(checkTightenOnly(parent, { allowedHosts: ["example.com", "**.example.com", "api.example.org", "a.example.com:8443"] })).toEqual([
        {
          field: "allowed_hosts",
          attempted: '["example.com","**.example.com","api.example.org","a.example.com:8443"]',
          parent: '["*.example.com","api.example.org:8443"]',
          notCovered: ["example.com", "**.example.com", "api.example.org", "a.example.com:8443"],
        },
      ]);
    });

    it("refuses a wildcard under an exact parent host", () => {
      const exact = { ...parent, allowedHosts: ["a.example.com"] };
      expect(checkTightenOnly(exact, { allowedHosts: ["*.example.com"] })).toEqual([
        { field: "allowed_hosts", attempted: '["*.example.com"]', parent: '["a.example.com"]', notCovered: ["*.example.com"] },
      ]);
    });
  });

  it("lists every loosening field at once", () => {
    const problems = checkTightenOnly(parent, { timeoutMs: 5000, maxHostCalls: 1, allowRoomTokens: true, allowedHosts: ["x.net"] });
    expect(problems.map((p) => p.field)).toEqual(["timeout_ms", "allowed_hosts", "allow_room_tokens"]);
  });
});

describe("validatePolicy", () => {
  it("accepts a well-formed global policy with a ceiling", () => {
    expect(validatePolicy({ timeoutMs: 1, allowedHosts: ["*.example.com:*"], overrideCeiling: { timeoutMs: 60_000 } }, "global")).toEqual([]);
  });

  it("refuses 0 for the run's time, memory, stack and output limits, in the ceiling too, naming the field", () => {
    for (const [key, name] of [
      ["timeoutMs", "timeout_ms"],
      ["memoryLimitBytes", "memory_limit_bytes"],
      ["maxStackBytes", "max_stack_bytes"],
      ["maxOutputBytes", "max_output_bytes"],
    ] as const) {
      expect(validatePolicy({ [key]: 0 }, "macro")).toEqual([expect.objectContaining({ field: name, attempted: "0" })]);
      expect(validatePolicy({ overrideCeiling: { [key]: 0 } }, "global").map((p) => p.field)).toEqual([`override_ceiling.${name}`]);
    }
  });

  it("keeps 0 for max_host_calls (a pure macro) and max_runs_per_minute (frozen runs)", () => {
    expect(validatePolicy({ maxHostCalls: 0, maxRunsPerMinute: 0 }, "room")).toEqual([]);
  });

  it.each([
    [{ timeoutMs: -1 }, "timeout_ms"],
    [{ maxHostCalls: 1.5 }, "max_host_calls"],
    [{ memoryLimitBytes: 2 ** 32 }, "memory_limit_bytes"],
    [{ allowedHosts: ["a..b"] }, "allowed_hosts"],
    [{ allowedImports: ["fs"] }, "allowed_imports"],
    [{ allowedImports: new Array(257).fill("gatehouse:log") }, "allowed_imports"],
    [{ overrideCeiling: {} }, "override_ceiling"],
  ])("refuses %j on a room, naming %s", (policy, field) => {
    expect(validatePolicy(policy, "room").map((p) => p.field)).toEqual([field]);
  });

  it("checks the ceiling's own fields and refuses a nested ceiling", () => {
    const problems = validatePolicy({ overrideCeiling: { allowedHosts: ["*.*.com"], overrideCeiling: {} } }, "global");
    expect(problems.map((p) => p.field)).toEqual(["override_ceiling.allowed_hosts", "override_ceiling.override_ceiling"]);
  });
});
