import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandboxPool, type SandboxPool } from "../../src/sandbox/index.js";
import { recordingHost, request, whenIdle } from "./helpers.js";

/** ECMASCRIPT_GLOBALS are the standard globals (plus QuickJS's InternalError): nothing else may be visible. */
const ECMASCRIPT_GLOBALS = new Set([
  "globalThis", "Infinity", "NaN", "undefined", "eval", "isFinite", "isNaN", "parseFloat", "parseInt",
  "decodeURI", "decodeURIComponent", "encodeURI", "encodeURIComponent", "escape", "unescape",
  "Object", "Function", "Boolean", "Symbol", "Error", "AggregateError", "EvalError", "RangeError",
  "ReferenceError", "SyntaxError", "TypeError", "URIError", "InternalError", "Number", "BigInt", "Math",
  "Date", "String", "RegExp", "Array", "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array",
  "Uint16Array", "Int32Array", "Uint32Array", "BigInt64Array", "BigUint64Array", "Float16Array",
  "Float32Array", "Float64Array", "Map", "Set", "WeakMap", "WeakSet", "WeakRef", "FinalizationRegistry",
  "ArrayBuffer", "SharedArrayBuffer", "DataView", "Atomics", "JSON", "Reflect", "Proxy", "Promise",
  "Iterator", "Generator", "AsyncFunction", "AsyncGenerator",
]);

const HOST_NAMES = ["process", "require", "module", "exports", "Buffer", "global", "console", "setTimeout",
  "queueMicrotask", "fetch", "WebAssembly", "__gatehouse_bridge__", "bridge", "__host", "postMessage", "self"];

let pool: SandboxPool;

beforeAll(async () => {
  pool = createSandboxPool({ size: 2 });
  await whenIdle(pool);
});

afterAll(async () => {
  await pool.close();
});

async function probe(code: string, answer?: (call: { fn: string }) => unknown) {
  const { hostCall, calls } = recordingHost(answer);
  const result = await pool.run(request(code, { hostCall }));
  expect(result.outcome, result.errorMessage).toBe("ok");
  return { output: result.output, calls };
}

describe("escapes: nothing of the host is reachable", () => {
  it("shows only ECMAScript globals on globalThis, none of the host's or the bridge", async () => {
    const { output } = await probe(`export default function () {
  const names = new Set();
  for (let o = globalThis; o; o = Object.getPrototypeOf(o)) for (const k of Reflect.ownKeys(o)) names.add(String(k));
  return [...names];
}`);
    const names = output as string[];
    console.log(`guest globals: ${names.join(" ")}`);
    const unknown = names.filter((name) => !ECMASCRIPT_GLOBALS.has(name) && !(name in Object.prototype) && !name.startsWith("Symbol("));
    expect(unknown).toEqual([]);
    for (const name of HOST_NAMES) expect(names).not.toContain(name);
  });

  it("finds no host through constructor.constructor, Function, eval or indirect eval", async () => {
    const { output } = await probe(`export default function () {
  const probes = {
    ctorCtor: () => ({}).constructor.constructor("return typeof process + typeof require + typeof globalThis.__gatehouse_bridge__")(),
    thisCtor: function () { return (this ?? {}).constructor.constructor("return this")() === globalThis; },
    fn: () => Function("return typeof process")(),
    fnThis: () => typeof Function("return this")().process,
    eval: () => eval("typeof process + typeof require"),
    indirectEval: () => (0, eval)("typeof process + typeof module"),
    asyncFn: () => Object.getPrototypeOf(async function () {}).constructor("return typeof process")() instanceof Promise,
    errorStack: () => typeof new Error("x").stack,
  };
  const out = {};
  for (const [k, f] of Object.entries(probes)) { try { out[k] = f(); } catch (e) { out[k] = "threw " + e.name; } }
  return out;
}`);
    expect(output).toEqual({
      ctorCtor: "undefinedundefinedundefined",
      thisCtor: true,
      fn: "undefined",
      fnThis: "undefined",
      eval: "undefinedundefined",
      indirectEval: "undefinedundefined",
      asyncFn: true,
      errorStack: "string",
    });
  });

  it("gives host results as fresh guest objects: prototype tricks find only the guest realm", async () => {
    const { output } = await probe(
      `import { get } from "gatehouse:store";
export default async function () {
  const got = await get("c", "1");
  const proto = Object.getPrototypeOf(got);
  return {
    plainProto: proto === Object.prototype,
    protoOfProto: Object.getPrototypeOf(proto),
    ctorIsGuest: got.constructor === Object,
    viaCtor: got.constructor.constructor("return typeof process + typeof require")(),
    viaProto: got.__proto__.constructor.constructor("return typeof Buffer")(),
    nestedArrayIsGuest: Array.isArray(got.list) && Object.getPrototypeOf(got.list) === Array.prototype,
    ownKeys: Reflect.ownKeys(got),
    hasNoFunctions: Object.values(got).every((v) => typeof v !== "function"),
  };
}`,
      () => ({ list: [1, 2], nested: { a: 1 }, __proto__: { polluted: true } }),
    );
    expect(output).toEqual({
      plainProto: true,
      protoOfProto: null,
      ctorIsGuest: true,
      viaCtor: "undefinedundefined",
      viaProto: "undefined",
      nestedArrayIsGuest: true,
      ownKeys: ["list", "nested"],
      hasNoFunctions: true,
    });
  });

  it("refuses dynamic import(), even of an allowed and already imported module", async () => {
    const { output, calls } = await probe(`import { get } from "gatehouse:store";
export default async function () {
  const out = [];
  for (const name of ["gatehouse:store", "gatehouse:internal", "gatehouse:entry", "macro", "node:fs"]) {
    try { await import(name); out.push(name + ": reached"); } catch (e) { out.push(name + ": " + e.message); }
  }
  try { await eval('import("gatehouse:store")'); out.push("eval: reached"); } catch (e) { out.push("eval: " + e.message); }
  try { await Function('return import("gatehouse:store")')(); out.push("Function: reached"); } catch (e) { out.push("Function: " + e.message); }
  return out;
}`);
    expect(output).toEqual([
      "gatehouse:store: import() is not allowed in macros",
      "gatehouse:internal: import() is not allowed in macros",
      "gatehouse:entry: import() is not allowed in macros",
      "macro: import() is not allowed in macros",
      "node:fs: import() is not allowed in macros",
      "eval: import() is not allowed in macros",
      "Function: import() is not allowed in macros",
    ]);
    expect(calls).toEqual([]);
  });

  it("refuses import() in top-level code too", async () => {
    const result = await pool.run(
      request(`const m = await import("gatehouse:store"); export default function () { return Object.keys(m); }`),
    );
    expect(result).toMatchObject({ outcome: "error", errorMessage: expect.stringMatching(/import\(\) is not allowed/) });
  });

  it("exposes no bridge through the host modules' functions", async () => {
    const { output } = await probe(`import * as store from "gatehouse:store";
import { log } from "gatehouse:log";
export default function () {
  const out = {};
  out.keys = Object.keys(store).sort();
  try { out.caller = store.get.caller; } catch (e) { out.caller = e.name; }
  try { out.args = log.arguments; } catch (e) { out.args = e.name; }
  out.scope = [typeof bridge, typeof call, typeof stringify];
  out.frozen = Object.isFrozen(store.default);
  return out;
}`);
    expect(output).toEqual({
      keys: ["default", "get", "list", "put", "remove"],
      caller: "TypeError",
      args: "TypeError",
      scope: ["undefined", "undefined", "undefined"],
      frozen: true,
    });
  });

  it("does not let a replaced JSON.stringify change what reaches the host", async () => {
    const { calls } = await probe(`import { put } from "gatehouse:store";
export default async function () {
  JSON.stringify = () => '["other","x",{}]';
  await put("c", "1", { v: 1 });
}`);
    expect(calls).toEqual([{ module: "gatehouse:store", fn: "put", args: ["c", "1", { v: 1 }] }]);
  });
});
