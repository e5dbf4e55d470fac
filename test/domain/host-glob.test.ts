import { describe, expect, it } from "vitest";
import {
  formatHostGlob,
  hostGlobCovers,
  intersectHostGlobs,
  matchAnyHostGlob,
  matchHostGlob,
  parseHost,
  parseHostGlob,
} from "../../src/domain/host-glob.js";

function glob(text: string) {
  const parsed = parseHostGlob(text);
  if (parsed === undefined) throw new Error(`not a glob: ${text}`);
  return parsed;
}

describe("matchHostGlob", () => {
  it.each([
    ["api.example.com", "api.example.com", true],
    ["api.example.com", "API.Example.COM", true],
    ["API.EXAMPLE.COM", "api.example.com", true],
    ["api.example.com", "api.example.com.", true],
    ["api.example.com", "www.example.com", false],
    ["*.example.com", "a.example.com", true],
    ["*.example.com", "example.com", false],
    ["*.example.com", "example.com.evil.net", false],
    ["*.example.com", "a.b.example.com", false],
    ["*.example.com", "evilexample.com", false],
    ["*.example.com", "a.example.com.evil.net", false],
    ["**.example.com", "a.b.example.com", true],
    ["**.example.com", "a.example.com", true],
    ["**.example.com", "example.com", false],
    ["**.example.com", "example.com.evil.net", false],
    ["*", "anything.at.all", true],
    ["*", "localhost", true],
    ["*", "localhost:8080", false],
  ])("%s against %s is %s", (g, host, expected) => {
    expect(matchHostGlob(g, host)).toBe(expected);
  });

  it.each([
    ["api.example.com", "api.example.com:8443", false],
    ["api.example.com:8443", "api.example.com:8443", true],
    ["api.example.com:8443", "api.example.com", false],
    ["api.example.com:8443", "api.example.com:443", false],
    ["api.example.com:*", "api.example.com:8443", true],
    ["api.example.com:*", "api.example.com", true],
    ["*.example.com:8443", "a.example.com:8443", true],
    ["*:*", "a.example.com:1", true],
  ])("is port-aware: %s against %s is %s", (g, host, expected) => {
    expect(matchHostGlob(g, host)).toBe(expected);
  });

  it.each(["", "a..b", "-a.com", "a.com:0", "a.com:65536", "a.com:08", "a.*.com", "*a.com", "a.com:x", "[::1]", "a b.com", "***.com"])(
    "refuses the malformed glob %j",
    (g) => {
      expect(parseHostGlob(g)).toBeUndefined();
      expect(matchHostGlob(g, "a.com")).toBe(false);
    },
  );

  it("matches nothing for a malformed host", () => {
    expect(matchHostGlob("*", "[::1]:80")).toBe(false);
    expect(matchHostGlob("*", "a..b")).toBe(false);
    expect(parseHost("a.com:99999")).toBeUndefined();
  });

  it("matchAnyHostGlob checks a whole allowed_hosts list", () => {
    expect(matchAnyHostGlob(["api.example.com", "*.example.org"], "x.example.org")).toBe(true);
    expect(matchAnyHostGlob(["api.example.com", "*.example.org"], "example.org")).toBe(false);
    expect(matchAnyHostGlob([], "example.org")).toBe(false);
  });

  it("writes the canonical form", () => {
    expect(formatHostGlob(glob("*.Example.COM:*"))).toBe("*.example.com:*");
    expect(formatHostGlob(glob("**"))).toBe("*");
    expect(parseHost("Example.COM.:8080")?.key).toBe("example.com:8080");
  });
});

describe("hostGlobCovers", () => {
  it.each([
    ["*.example.com", "a.example.com", true],
    ["*.example.com", "*.example.com", true],
    ["a.example.com", "*.example.com", false],
    ["*.example.com", "example.com", false],
    ["*.example.com", "a.b.example.com", false],
    ["*.example.com", "*.a.example.com", false],
    ["**.example.com", "*.a.example.com", true],
    ["**.example.com", "**.a.example.com", true],
    ["**.example.com", "*.example.com", true],
    ["*.example.com", "**.example.com", false],
    ["**.a.example.com", "**.example.com", false],
    ["*", "**.example.com", true],
    ["*", "x.y.z", true],
    ["*", "x.y.z:8080", false],
    ["x.com:*", "x.com:8080", true],
    ["x.com:*", "x.com", true],
    ["x.com:8080", "x.com:*", false],
    ["x.com", "x.com:8080", false],
    ["x.com:8080", "x.com:8081", false],
  ])("%s covers %s: %s", (parent, child, expected) => {
    expect(hostGlobCovers(glob(parent), glob(child))).toBe(expected);
  });
});

describe("intersectHostGlobs", () => {
  it.each([
    ["*.example.com", "a.example.com", "a.example.com"],
    ["**.example.com", "*.a.example.com:*", "*.a.example.com"],
    ["**.example.com:*", "api.example.com:8443", "api.example.com:8443"],
    ["*.example.com", "*.example.org", undefined],
    ["*.example.com", "**.a.example.com", undefined],
    ["x.com", "x.com:8080", undefined],
  ])("%s ∩ %s is %s", (a, b, expected) => {
    const meet = intersectHostGlobs(glob(a), glob(b));
    expect(meet === undefined ? undefined : formatHostGlob(meet)).toBe(expected);
  });
});
