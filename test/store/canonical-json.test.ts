import { describe, expect, it } from "vitest";
import { canonicalJson, sanitizeText, toJsonValue } from "../../src/store/canonical-json.js";
import { parseInt8, parseTimestamptz } from "../../src/store/postgres-driver.js";

describe("canonicalJson", () => {
  it("sorts keys at every depth and writes no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it("answers the same string whatever the key insertion order", () => {
    expect(canonicalJson({ x: 1, y: "2" })).toBe(canonicalJson({ y: "2", x: 1 }));
  });
});

describe("toJsonValue", () => {
  it("normalizes like JSON.stringify: dates, undefined, non-finite numbers", () => {
    expect(toJsonValue({ at: new Date(0), gone: undefined, n: Number.NaN, list: [undefined] })).toEqual({
      at: "1970-01-01T00:00:00.000Z",
      n: null,
      list: [null],
    });
    expect(toJsonValue(undefined)).toBeNull();
  });

  it("replaces characters Postgres cannot store unchanged", () => {
    expect(sanitizeText("a\u0000b")).toBe("a\uFFFDb");
    expect(sanitizeText("x\uD800y")).toBe("x\uFFFDy");
    expect(sanitizeText("ok 😀")).toBe("ok 😀");
    expect(toJsonValue({ "k\u0000": "v\uDC00" })).toEqual({ "k\uFFFD": "v\uFFFD" });
  });
});

describe("raw result parsers", () => {
  it("reads Postgres timestamptz text in any offset", () => {
    expect((parseTimestamptz("2026-01-02 03:04:05.678+00") as Date).toISOString()).toBe("2026-01-02T03:04:05.678Z");
    expect((parseTimestamptz("2026-01-02 08:34:05.678912+05:30") as Date).toISOString()).toBe("2026-01-02T03:04:05.678Z");
    expect((parseTimestamptz("2026-01-01 23:04:05-04") as Date).toISOString()).toBe("2026-01-02T03:04:05.000Z");
    expect(parseTimestamptz("infinity")).toBe("infinity");
  });

  it("reads bigints as numbers only when exact", () => {
    expect(parseInt8("42")).toBe(42);
    expect(parseInt8("9223372036854775807")).toBe("9223372036854775807");
  });
});
