import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { PolicySchema, StringListSchema } from "../../gen/gatehouse/v1/common_pb.js";
import { normalizePolicy, policyFromJson, policyMessageOf, policyToJson, policyValuesOfMessage } from "../../src/policies/policy-codec.js";

describe("policy codec", () => {
  it("tells an unset list from an empty one, both ways", () => {
    const message = create(PolicySchema, { timeoutMs: 0, allowedHosts: create(StringListSchema, { values: [] }) });
    const values = policyValuesOfMessage(message);
    expect(values).toEqual({ timeoutMs: 0, allowedHosts: [] });
    const back = policyMessageOf(values);
    expect(back.allowedHosts?.values).toEqual([]);
    expect(back.allowedImports).toBeUndefined();
    expect(back.networkEnabled).toBeUndefined();
  });

  it("round-trips a global layer with its ceiling through the stored JSON", () => {
    const layer = { timeoutMs: 500, networkEnabled: false, allowedImports: ["gatehouse:log"], overrideCeiling: { timeoutMs: 900 } };
    expect(policyFromJson(JSON.parse(JSON.stringify(policyToJson(layer))))).toEqual(layer);
  });

  it("reads snake_case keys and StringList objects, and drops ill-typed values", () => {
    expect(
      policyFromJson({
        timeout_ms: 100,
        allowed_hosts: { values: ["a.example.com"] },
        networkEnabled: "yes",
        maxHostCalls: -1,
        max_runs_per_minute: "60",
        override_ceiling: { timeoutMs: 1 },
      }),
    ).toEqual({ timeoutMs: 100, allowedHosts: ["a.example.com"], maxRunsPerMinute: 60, overrideCeiling: { timeoutMs: 1 } });
    expect(policyFromJson(null)).toEqual({});
    expect(policyFromJson("[]")).toEqual({});
    expect(policyFromJson({ overrideCeiling: { overrideCeiling: { timeoutMs: 1 } } })).toEqual({ overrideCeiling: {} });
  });

  it("normalizes host globs to their canonical spelling and drops duplicates", () => {
    expect(normalizePolicy({ allowedHosts: ["API.Example.com", "api.example.com", "**.X.org:*"], allowedImports: ["gatehouse:log", "gatehouse:log"] })).toEqual({
      allowedHosts: ["api.example.com", "**.x.org:*"],
      allowedImports: ["gatehouse:log"],
    });
  });
});
