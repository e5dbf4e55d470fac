import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkTightenOnly } from "../../src/domain/policy-check.js";
import { mergePolicies, userLayerBound, type PolicyLayer } from "../../src/domain/policy-merge.js";
import {
  coversValue,
  defaultPolicy,
  hostModules,
  loosestValue,
  policyFields,
  policyFieldValue,
  tightestValue,
  type PolicyValues,
} from "../../src/domain/policy.js";

const MiB = 1024 * 1024;

describe("mergePolicies", () => {
  describe("provenance", () => {
    it("answers the built-in defaults, each from `default`, with no layers", () => {
      const merged = mergePolicies([]);
      expect(merged.policy).toEqual(defaultPolicy);
      expect(merged.policy.allowedImports).toEqual(["gatehouse:store", "gatehouse:net", "gatehouse:log"]);
      expect(Object.keys(merged.sources).sort()).toEqual(policyFields.map((f) => f.name).sort());
      expect(Object.values(merged.sources).every((s) => s === "default")).toBe(true);
    });

    it("names for every field the layer that set it", () => {
      const merged = mergePolicies([
        { name: "global", policy: { timeoutMs: 5000, memoryLimitBytes: 64 * MiB, networkEnabled: true, allowedHosts: ["*.example.com"], allowRoomTokens: true } },
        { name: "room", policy: { memoryLimitBytes: 16 * MiB, allowedHosts: ["a.example.com", "b.example.com"], maxRunsPerMinute: 60 } },
        { name: "macro", policy: { maxStackBytes: 128 * 1024, allowedHosts: ["a.example.com"], allowRoomTokens: false } },
        { name: "user", policy: { maxHostCalls: 10, allowedImports: ["gatehouse:log"] } },
      ]);
      expect(merged.sources).toEqual({
        timeout_ms: "global",
        memory_limit_bytes: "room",
        max_stack_bytes: "macro",
        max_output_bytes: "default",
        max_host_calls: "user",
        network_enabled: "global",
        allowed_hosts: "macro",
        allowed_imports: "user",
        max_runs_per_minute: "room",
        allow_room_tokens: "macro",
      });
      expect(merged.policy).toEqual({
        timeoutMs: 5000,
        memoryLimitBytes: 16 * MiB,
        maxStackBytes: 128 * 1024,
        maxOutputBytes: 64 * 1024,
        maxHostCalls: 10,
        networkEnabled: true,
        allowedHosts: ["a.example.com"],
        allowedImports: ["gatehouse:log"],
        maxRunsPerMinute: 60,
        allowRoomTokens: false,
      });
    });

    it("keeps the higher layer on ties", () => {
      const merged = mergePolicies([
        { name: "global", policy: { timeoutMs: 800, allowedImports: ["gatehouse:log"] } },
        { name: "room", policy: { timeoutMs: 800, allowedImports: ["gatehouse:log"] } },
        { name: "macro", policy: { timeoutMs: 800 } },
        { name: "user", policy: { timeoutMs: 800 } },
      ]);
      expect(merged.sources.timeout_ms).toBe("global");
      expect(merged.sources.allowed_imports).toBe("global");
    });

    it("takes no provenance from a layer that tries to loosen", () => {
      const merged = mergePolicies([{ name: "room", policy: { timeoutMs: 9000, allowRoomTokens: true, allowedImports: ["gatehouse:log"] } }]);
      expect(merged.policy.timeoutMs).toBe(1000);
      expect(merged.policy.allowRoomTokens).toBe(false);
      expect(merged.sources).toMatchObject({ timeout_ms: "default", allow_room_tokens: "default", allowed_imports: "room" });
    });
  });

  describe("tighten-only layers", () => {
    it("tightens room and macro at once when global is tightened later", () => {
      const layers = (global: PolicyValues): PolicyLayer[] => [
        { name: "global", policy: global },
        { name: "room", policy: { timeoutMs: 3000, networkEnabled: true, allowedHosts: ["*.example.com"] } },
        { name: "macro", policy: { timeoutMs: 2000, allowedHosts: ["a.example.com"] } },
      ];
      const before = mergePolicies(layers({ timeoutMs: 4000, networkEnabled: true, allowedHosts: ["**.example.com"] }));
      expect(before.policy).toMatchObject({ timeoutMs: 2000, networkEnabled: true, allowedHosts: ["a.example.com"] });
      const after = mergePolicies(layers({ timeoutMs: 500, networkEnabled: false, allowedHosts: ["b.example.com"] }));
      expect(after.policy).toMatchObject({ timeoutMs: 500, networkEnabled: false, allowedHosts: [] });
      expect(after.sources).toMatchObject({ timeout_ms: "global", network_enabled: "global", allowed_hosts: "macro" });
    });

    it("intersects host globs across layers", () => {
      const merged = mergePolicies([
        { name: "global", policy: { allowedHosts: ["**.example.com:*", "x.org"] } },
        { name: "room", policy: { allowedHosts: ["*.a.example.com", "x.org:8080", "x.org"] } },
      ]);
      expect(merged.policy.allowedHosts).toEqual(["*.a.example.com", "x.org"]);
    });

    it("lets global loosen the built-in defaults", () => {
      const merged = mergePolicies([{ name: "global", policy: { timeoutMs: 30_000, allowRoomTokens: true } }]);
      expect(merged.policy).toMatchObject({ timeoutMs: 30_000, allowRoomTokens: true });
    });
  });

  describe("user override and override_ceiling", () => {
    const global: PolicyValues = {
      timeoutMs: 1000,
      networkEnabled: false,
      allowedHosts: ["api.example.com"],
      overrideCeiling: { timeoutMs: 10_000, networkEnabled: true, allowedHosts: ["*.example.com"] },
    };

    it("loosens up to the ceiling and reports the loosening", () => {
      const merged = mergePolicies([
        { name: "global", policy: global },
        { name: "room", policy: { timeoutMs: 500 } },
        { name: "user", policy: { timeoutMs: 5000, networkEnabled: true, allowedHosts: ["a.example.com", "api.example.com"] } },
      ]);
      expect(merged.policy).toMatchObject({ timeoutMs: 5000, networkEnabled: true, allowedHosts: ["a.example.com", "api.example.com"] });
      expect(merged.sources).toMatchObject({ timeout_ms: "user", network_enabled: "user", allowed_hosts: "user" });
      expect(merged.loosened).toEqual(["timeout_ms", "network_enabled", "allowed_hosts"]);
      expect(merged.clamped).toEqual([]);
    });

    it("clamps values past the ceiling to it", () => {
      const merged = mergePolicies([
        { name: "global", policy: global },
        { name: "user", policy: { timeoutMs: 60_000, allowedHosts: ["**.example.com", "evil.net"] } },
      ]);
      expect(merged.policy.timeoutMs).toBe(10_000);
      expect(merged.policy.allowedHosts).toEqual(["*.example.com"]);
      expect(merged.sources.timeout_ms).toBe("user");
      expect(merged.clamped).toEqual([
        { field: "timeout_ms", layer: "user", attempted: "60000", applied: "10000" },
        { field: "allowed_hosts", layer: "user", attempted: '["**.example.com","evil.net"]', applied: '["*.example.com"]' },
      ]);
    });

    it("lets the user layer only tighten where there is no ceiling", () => {
      const merged = mergePolicies([
        { name: "global", policy: { timeoutMs: 1000 } },
        { name: "user", policy: { timeoutMs: 5000, maxHostCalls: 5, allowRoomTokens: true } },
      ]);
      expect(merged.policy).toMatchObject({ timeoutMs: 1000, maxHostCalls: 5, allowRoomTokens: false });
      expect(merged.sources).toMatchObject({ timeout_ms: "global", max_host_calls: "user", allow_room_tokens: "default" });
      expect(merged.clamped.map((c) => c.field)).toEqual(["timeout_ms", "allow_room_tokens"]);
      expect(merged.loosened).toEqual([]);
    });

    it("lets the user layer only tighten a field the ceiling leaves unset", () => {
      const merged = mergePolicies([{ name: "global", policy: global }, { name: "user", policy: { maxHostCalls: 5000 } }]);
      expect(merged.policy.maxHostCalls).toBe(1000);
    });

    it("never tightens through a ceiling below the merged value", () => {
      const merged = mergePolicies([
        { name: "global", policy: { timeoutMs: 1000, overrideCeiling: { timeoutMs: 300 } } },
        { name: "user", policy: { timeoutMs: 800 } },
      ]);
      expect(merged.policy.timeoutMs).toBe(800);
      expect(mergePolicies([{ name: "global", policy: { timeoutMs: 1000, overrideCeiling: { timeoutMs: 300 } } }, { name: "user", policy: { timeoutMs: 4000 } }]).policy.timeoutMs).toBe(1000);
    });

    it("ignores the roles' defaults when the user has an override", () => {
      const merged = mergePolicies([
        { name: "global", policy: global },
        { name: "role:editor", policy: { timeoutMs: 9000 } },
        { name: "user", policy: {} },
      ]);
      expect(merged.policy.timeoutMs).toBe(1000);
      expect(merged.sources.timeout_ms).toBe("global");
    });

    it("userLayerBound checks override writes against the ceiling", () => {
      const bound = userLayerBound(mergePolicies([{ name: "global", policy: global }]).policy, global.overrideCeiling);
      expect(checkTightenOnly(bound, { timeoutMs: 10_000, allowedHosts: ["a.example.com"] })).toEqual([]);
      expect(checkTightenOnly(bound, { timeoutMs: 10_001, maxHostCalls: 1001 })).toEqual([
        { field: "timeout_ms", attempted: "10001", parent: "10000" },
        { field: "max_host_calls", attempted: "1001", parent: "1000" },
      ]);
    });
  });

  describe("role default policies (users without an override)", () => {
    const global: PolicyValues = { overrideCeiling: { timeoutMs: 10_000, maxHostCalls: 5000, allowRoomTokens: true } };

    it("takes the most permissive role value per field, named role:<name>", () => {
      const merged = mergePolicies([
        { name: "global", policy: global },
        { name: "role:viewer", policy: { timeoutMs: 2000, maxHostCalls: 3000 } },
        { name: "role:analyst", policy: { timeoutMs: 4000, maxHostCalls: 2000 } },
      ]);
      expect(merged.policy).toMatchObject({ timeoutMs: 4000, maxHostCalls: 3000 });
      expect(merged.sources).toMatchObject({ timeout_ms: "role:analyst", max_host_calls: "role:viewer" });
    });

    it("counts a role that leaves a field unset as inheriting it", () => {
      const merged = mergePolicies([
        { name: "global", policy: global },
        { name: "role:viewer", policy: { timeoutMs: 100, allowRoomTokens: true } },
        { name: "role:editor", policy: {} },
      ]);
      expect(merged.policy).toMatchObject({ timeoutMs: 1000, allowRoomTokens: true });
      expect(merged.sources).toMatchObject({ timeout_ms: "default", allow_room_tokens: "role:viewer" });
    });

    it("tightens when every role tightens", () => {
      const merged = mergePolicies([
        { name: "role:viewer", policy: { timeoutMs: 100 } },
        { name: "role:editor", policy: { timeoutMs: 200 } },
      ]);
      expect(merged.policy.timeoutMs).toBe(200);
      expect(merged.sources.timeout_ms).toBe("role:editor");
    });

    it("clamps role values to the ceiling", () => {
      const merged = mergePolicies([{ name: "global", policy: global }, { name: "role:ops", policy: { timeoutMs: 99_000 } }]);
      expect(merged.policy.timeoutMs).toBe(10_000);
      expect(merged.clamped).toEqual([{ field: "timeout_ms", layer: "role:ops", attempted: "99000", applied: "10000" }]);
    });

    it("unions role lists", () => {
      const merged = mergePolicies([
        { name: "global", policy: { allowedImports: ["gatehouse:log"], overrideCeiling: { allowedImports: [...hostModules] } } },
        { name: "role:a", policy: { allowedImports: ["gatehouse:store"] } },
        { name: "role:b", policy: { allowedImports: ["gatehouse:net"] } },
      ]);
      expect([...merged.policy.allowedImports].sort()).toEqual(["gatehouse:net", "gatehouse:store"]);
      expect(merged.sources.allowed_imports).toBe("role:a");
    });
  });

  it("refuses unknown and repeated layer names", () => {
    expect(() => mergePolicies([{ name: "tenant" as never, policy: {} }])).toThrow(RangeError);
    expect(() => mergePolicies([{ name: "room", policy: {} }, { name: "room", policy: {} }])).toThrow(RangeError);
  });
});

describe("mergePolicies properties", () => {
  const hostPool = ["a.example.com", "b.example.com:8443", "*.example.com", "**.example.com", "*.example.com:*", "example.org", "x.example.org", "*"];
  const policyArb = (withCeiling: boolean): fc.Arbitrary<PolicyValues> => {
    const fields = {
      timeoutMs: fc.nat({ max: 20_000 }),
      memoryLimitBytes: fc.nat({ max: 128 * MiB }),
      maxStackBytes: fc.nat({ max: 2 * MiB }),
      maxOutputBytes: fc.nat({ max: 256 * 1024 }),
      maxHostCalls: fc.nat({ max: 5000 }),
      networkEnabled: fc.boolean(),
      allowedHosts: fc.subarray(hostPool),
      allowedImports: fc.subarray([...hostModules]),
      maxRunsPerMinute: fc.nat({ max: 2000 }),
      allowRoomTokens: fc.boolean(),
    };
    if (!withCeiling) return fc.record(fields, { requiredKeys: [] });
    return fc.record({ ...fields, overrideCeiling: fc.record(fields, { requiredKeys: [] }) }, { requiredKeys: [] });
  };
  const layersArb = fc.record({
    global: policyArb(true),
    room: fc.option(policyArb(false), { nil: undefined }),
    macro: fc.option(policyArb(false), { nil: undefined }),
    user: fc.option(policyArb(false), { nil: undefined }),
    roles: fc.array(policyArb(false), { maxLength: 3 }),
  });
  type Layers = typeof layersArb extends fc.Arbitrary<infer T> ? T : never;
  const toLayers = (l: Layers, withUser = true): PolicyLayer[] => [
    { name: "global", policy: l.global },
    ...(l.room ? [{ name: "room" as const, policy: l.room }] : []),
    ...(l.macro ? [{ name: "macro" as const, policy: l.macro }] : []),
    ...(withUser && l.user ? [{ name: "user" as const, policy: l.user }] : []),
    ...(withUser ? l.roles.map((policy, i) => ({ name: `role:r${i}` as const, policy })) : []),
  ];

  it("never yields a value looser than global, except the user layer within the ceiling", () => {
    fc.assert(
      fc.property(layersArb, (l) => {
        const merged = mergePolicies(toLayers(l));
        for (const field of policyFields) {
          const globalValue = policyFieldValue(l.global, field) ?? policyFieldValue(defaultPolicy, field)!;
          const ceilingValue = l.global.overrideCeiling && policyFieldValue(l.global.overrideCeiling, field);
          const limit = ceilingValue === undefined ? globalValue : loosestValue(field, globalValue, ceilingValue);
          const value = policyFieldValue(merged.policy, field)!;
          expect(coversValue(field, limit, value), `${field.name}: ${JSON.stringify(value)} looser than ${JSON.stringify(limit)}`).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("without a user layer, yields exactly the tightest of global, room and macro", () => {
    fc.assert(
      fc.property(layersArb, (l) => {
        const merged = mergePolicies(toLayers(l, false));
        expect(merged.loosened).toEqual([]);
        for (const field of policyFields) {
          let expected = policyFieldValue(l.global, field) ?? policyFieldValue(defaultPolicy, field)!;
          for (const layer of [l.room, l.macro]) {
            const v = layer && policyFieldValue(layer, field);
            if (v !== undefined) expected = tightestValue(field, expected, v);
          }
          const value = policyFieldValue(merged.policy, field)!;
          expect(coversValue(field, expected, value) && coversValue(field, value, expected), field.name).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("never loosens anything when global is tightened", () => {
    fc.assert(
      fc.property(layersArb, policyArb(false), (l, tighter) => {
        const tightened: PolicyValues = { ...l.global };
        for (const field of policyFields) {
          const t = policyFieldValue(tighter, field);
          if (t === undefined) continue;
          const current = policyFieldValue(l.global, field) ?? policyFieldValue(defaultPolicy, field)!;
          (tightened as Record<string, unknown>)[field.key] = tightestValue(field, current, t);
        }
        const before = mergePolicies(toLayers(l));
        const after = mergePolicies(toLayers({ ...l, global: tightened }));
        for (const field of policyFields) {
          expect(coversValue(field, policyFieldValue(before.policy, field)!, policyFieldValue(after.policy, field)!), field.name).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("names a given layer or default as every field's source", () => {
    fc.assert(
      fc.property(layersArb, (l) => {
        const layers = toLayers(l);
        const names = new Set<string>(["default", ...layers.map((layer) => layer.name)]);
        const merged = mergePolicies(layers);
        for (const field of policyFields) expect(names.has(merged.sources[field.name])).toBe(true);
      }),
    );
  });
});
