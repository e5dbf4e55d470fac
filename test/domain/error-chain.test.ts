import { describe, expect, it } from "vitest";
import { errorChain } from "../../src/domain/error-chain.js";

describe("errorChain", () => {
  it("answers the error and its causes, outermost first, stopping at a cause that is not an Error", () => {
    const root = new Error("root", { cause: "a string" });
    const middle = new Error("middle", { cause: root });
    const outer = new Error("outer", { cause: middle });
    expect(errorChain(outer)).toEqual([outer, middle, root]);
    expect(errorChain("not an error")).toEqual([]);
  });

  it("ends on a chain that loops", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    a.cause = b;
    expect(errorChain(a)).toEqual([a, b]);
  });
});
