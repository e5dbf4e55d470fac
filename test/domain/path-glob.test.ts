import { describe, expect, it } from "vitest";
import { checkPathGlob, compilePathGlob } from "../../src/domain/path-glob.js";

describe("compilePathGlob", () => {
  it.each([
    ["invoices", "invoices", true],
    ["invoices", "invoices/42", false],
    ["invoices", "Invoices", false],
    ["invoices/*", "invoices/42", true],
    ["invoices/*", "invoices", false],
    ["invoices/*", "invoices/42/lines", false],
    ["invoices/*", "invoicesX/42", false],
    ["invoices/**", "invoices", true],
    ["invoices/**", "invoices/42/lines", true],
    ["invoices/**", "invoicesX/42", false],
    ["**/lines", "lines", true],
    ["**/lines", "invoices/42/lines", true],
    ["invoices/**/lines", "invoices/lines", true],
    ["invoices/**/lines", "invoices/42/x/lines", true],
    ["inv*/4*", "invoices/42", true],
    ["inv*", "invoices", true],
    ["inv*", "inv/oices", false],
    ["*", "invoices/42/lines", true],
    ["**", "invoices/42/lines", true],
    ["a.b", "aXb", false],
    ["*.example.com", "api.example.com", true],
    ["*.example.com", "example.com.evil.net", false],
    ["*.example.com", "example.com", false],
  ])("%s against %s is %s", (glob, resource, expected) => {
    expect(compilePathGlob(glob).test(resource)).toBe(expected);
  });

  it("keeps literal globs as literals for exact lookups", () => {
    expect(compilePathGlob("invoices/42").literal).toBe("invoices/42");
    expect(compilePathGlob("invoices/*").literal).toBeUndefined();
  });

  it.each(["", "/invoices", "invoices/", "a//b", "a/**x", "a/**/**", "in voices", "a/$", "x".repeat(513)])(
    "refuses the malformed glob %j",
    (glob) => {
      expect(checkPathGlob(glob)).toBeTypeOf("string");
      expect(() => compilePathGlob(glob)).toThrow(RangeError);
    },
  );
});
