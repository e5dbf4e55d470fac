import { describe, expect, it } from "vitest";
import { getQuickJS } from "quickjs-emscripten";
import { hashPassword, verifyPassword } from "../../src/auth/passwords.js";

/**
 * The runtime the suite runs on. `.ci/run` runs the suite twice, on the
 * machine's Node 20 and on Node 24 LTS (through the npm package `node`), and
 * sets GATEHOUSE_EXPECT_NODE to the version it meant: this proves the test
 * workers really ran on it (a skipped install script of the `node` package
 * falls back to Node 20 without a word), and that the native and WASM parts
 * load there.
 */
describe("runtime", () => {
  it("runs on the Node version CI asked for, within the supported range", () => {
    console.log(`test workers run on node ${process.version} (${process.execPath})`);
    const expected = process.env.GATEHOUSE_EXPECT_NODE;
    if (expected) expect(process.version).toBe(expected);
    expect(Number(/^v(\d+)\./.exec(process.version)?.[1])).toBeGreaterThanOrEqual(20);
  });

  it("loads the native argon2 addon (prebuilt, no compile) and hashes with it", async () => {
    const hash = await hashPassword("runtime-check-password");
    expect(hash).toMatch(/^\$argon2id\$v=19\$/);
    expect(await verifyPassword(hash, "runtime-check-password")).toBe(true);
    expect(await verifyPassword(hash, "another-password")).toBe(false);
  });

  it("loads QuickJS (WebAssembly) and evaluates in it", async () => {
    const quickjs = await getQuickJS();
    expect(quickjs.evalCode("6 * 7")).toBe(42);
  });
});
