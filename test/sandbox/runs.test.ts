import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandboxPool, HostDenied, HostError, type SandboxPool } from "../../src/sandbox/index.js";
import { recordingHost, request, whenIdle } from "./helpers.js";

let pool: SandboxPool;

beforeAll(async () => {
  pool = createSandboxPool({ size: 2 });
  await whenIdle(pool);
});

afterAll(async () => {
  await pool.close();
});

describe("run: the default export", () => {
  it("calls a sync function with (input, ctx) and answers its JSON output", async () => {
    const result = await pool.run(
      request(`export default function (input, ctx) { return { sum: input.a + input.b, caller: ctx.caller.id }; }`, {
        input: { a: 2, b: 3 },
        ctx: { caller: { id: "u1", level: 10 }, room: { id: "r1" } },
      }),
    );
    expect(result).toMatchObject({ outcome: "ok", output: { sum: 5, caller: "u1" }, logs: [], hostCalls: 0 });
    expect(result.durationMs).toBeGreaterThan(0);
    expect(result.memoryUsedBytes).toBeGreaterThan(0);
  });

  it("awaits an async function", async () => {
    const result = await pool.run(
      request(`export default async function (input) { await null; return [input, typeof Promise]; }`, { input: "x" }),
    );
    expect(result).toMatchObject({ outcome: "ok", output: ["x", "function"] });
  });

  it("answers no output when the function returns undefined", async () => {
    const result = await pool.run(request(`export default function () {}`));
    expect(result.outcome).toBe("ok");
    expect(result).not.toHaveProperty("output");
  });

  it("answers error for an output that is not JSON-serializable", async () => {
    const result = await pool.run(request(`export default function () { return 1n; }`));
    expect(result.outcome).toBe("error");
    expect(result.errorMessage).toMatch(/JSON/);
  });

  it("answers error with the position when the macro throws", async () => {
    const result = await pool.run(request(`export default function () {\n  const x = null;\n  return x.y;\n}`));
    expect(result.outcome).toBe("error");
    expect(result.errorMessage).toMatch(/^TypeError: .*\(at macro:3:\d+\)$/);
  });

  it("answers error when there is no default export function", async () => {
    const result = await pool.run(request(`export const x = 1;`));
    expect(result).toMatchObject({ outcome: "error", errorMessage: expect.stringMatching(/export default function/) });
  });

  it("answers error for a syntax error", async () => {
    const result = await pool.run(request(`export default function ( {`));
    expect(result).toMatchObject({ outcome: "error", errorMessage: expect.stringMatching(/^SyntaxError/) });
  });

  it("answers error for a promise that can never settle", async () => {
    const result = await pool.run(request(`export default async function () { await new Promise(() => {}); }`));
    expect(result).toMatchObject({ outcome: "error", errorMessage: expect.stringMatching(/never settle/) });
  });

  it("keeps no state from one run to the next", async () => {
    const code = `export default function () {
  const seen = [globalThis.mark ?? null, [].polluted ?? null];
  globalThis.mark = 1;
  Array.prototype.polluted = 1;
  return seen;
}`;
    // More runs than workers, so that some run twice on the same worker.
    const results = await Promise.all(Array.from({ length: 6 }, () => pool.run(request(code))));
    for (const result of results) expect(result).toMatchObject({ outcome: "ok", output: [null, null] });
  });
});

describe("run: host modules", () => {
  it("round-trips every gatehouse:store function through hostCall as JSON", async () => {
    const { hostCall, calls } = recordingHost((call) => ({ fn: call.fn, args: call.args }));
    const result = await pool.run(
      request(
        `import { get, list, put, remove } from "gatehouse:store";
export default async function () {
  return [await get("invoices", "1"), await list("invoices", { limit: 2, after: "a" }), await put("invoices", "2", { total: 3 }), await remove("invoices", "2")];
}`,
        { hostCall, allowedImports: ["gatehouse:store"] },
      ),
    );
    expect(result.outcome).toBe("ok");
    expect(result.hostCalls).toBe(4);
    expect(calls).toEqual([
      { module: "gatehouse:store", fn: "get", args: ["invoices", "1"] },
      { module: "gatehouse:store", fn: "list", args: ["invoices", { limit: 2, after: "a" }] },
      { module: "gatehouse:store", fn: "put", args: ["invoices", "2", { total: 3 }] },
      { module: "gatehouse:store", fn: "remove", args: ["invoices", "2"] },
    ]);
    expect(result.output).toEqual(calls.map((c) => ({ fn: c.fn, args: c.args })));
  });

  it("round-trips gatehouse:net fetch", async () => {
    const { hostCall, calls } = recordingHost(() => ({ status: 200, body: "hello" }));
    const result = await pool.run(
      request(
        `import { fetch } from "gatehouse:net";
export default async function () { const res = await fetch("https://api.example.com/x", { method: "POST" }); return res.status + ":" + res.body; }`,
        { hostCall, allowedImports: ["gatehouse:net"] },
      ),
    );
    expect(result).toMatchObject({ outcome: "ok", output: "200:hello", hostCalls: 1 });
    expect(calls).toEqual([{ module: "gatehouse:net", fn: "fetch", args: ["https://api.example.com/x", { method: "POST" }] }]);
  });

  it("collects gatehouse:log lines, stringified, without calling the host", async () => {
    const { hostCall, calls } = recordingHost();
    const result = await pool.run(
      request(
        `import { log } from "gatehouse:log";
export default function () { log("hello", 1, { a: [1] }, null, undefined); log(); return "done"; }`,
        { hostCall, allowedImports: ["gatehouse:log"] },
      ),
    );
    expect(result).toMatchObject({ outcome: "ok", output: "done", logs: ['hello 1 {"a":[1]} null undefined', ""] });
    expect(calls).toEqual([]);
    expect(result.hostCalls).toBe(0);
  });

  it("rejects inside the macro with HostDenied, and answers denied when it escapes", async () => {
    const hostCall = async () => {
      throw new HostDenied("store.write denied on invoices/2");
    };
    const escaped = await pool.run(
      request(`import { put } from "gatehouse:store"; export default async function () { await put("invoices", "2", {}); }`, {
        hostCall,
      }),
    );
    expect(escaped).toMatchObject({ outcome: "denied", errorMessage: "store.write denied on invoices/2", hostCalls: 1 });

    const caught = await pool.run(
      request(
        `import { put } from "gatehouse:store";
export default async function () { try { await put("invoices", "2", {}); } catch (e) { return [e.name, e.message, e instanceof Error]; } }`,
        { hostCall },
      ),
    );
    expect(caught).toMatchObject({ outcome: "ok", output: ["HostDenied", "store.write denied on invoices/2", true] });
  });

  it("does not take a forged HostDenied for a denial", async () => {
    const result = await pool.run(
      request(`export default function () { const e = new Error("forged"); e.name = "HostDenied"; throw e; }`),
    );
    expect(result.outcome).toBe("error");
  });

  it("passes HostError messages to the macro and hides other host failures", async () => {
    const code = `import { get } from "gatehouse:store";
export default async function () { try { await get("c", "1"); } catch (e) { return e.name + ": " + e.message; } }`;
    const hostError = await pool.run(
      request(code, {
        hostCall: async () => {
          throw new HostError("no such record");
        },
      }),
    );
    expect(hostError).toMatchObject({ outcome: "ok", output: "HostError: no such record" });
    const internal = await pool.run(
      request(code, {
        hostCall: async () => {
          throw new Error("connection string postgres://secret@db");
        },
      }),
    );
    expect(internal).toMatchObject({ outcome: "ok", output: "HostError: internal error" });
  });

  it("answers error for an import outside allowedImports", async () => {
    const { hostCall, calls } = recordingHost();
    for (const specifier of ["gatehouse:net", "gatehouse:internal", "node:fs", "./other.js", "gatehouse:refused#0"]) {
      const result = await pool.run(
        request(`import * as m from ${JSON.stringify(specifier)}; export default function () { return Object.keys(m); }`, {
          hostCall,
          allowedImports: ["gatehouse:store", "gatehouse:log"],
        }),
      );
      expect(result, specifier).toMatchObject({ outcome: "error", errorMessage: expect.stringMatching(/not allowed/) });
    }
    expect(calls).toEqual([]);
  });

  it("caps host calls: calls past maxHostCalls reject inside the macro", async () => {
    const { hostCall, calls } = recordingHost(() => "v");
    const code = `import { get } from "gatehouse:store";
export default async function () { const got = []; for (let i = 0; i < 5; i++) got.push(await get("c", String(i))); return got; }`;
    const uncaught = await pool.run(request(code, { hostCall, limits: { maxHostCalls: 3 } }));
    expect(uncaught).toMatchObject({ outcome: "error", hostCalls: 3 });
    expect(uncaught.errorMessage).toMatch(/^HostCallLimitExceeded: host call limit of 3 reached/);
    expect(calls).toHaveLength(3);

    const caught = await pool.run(
      request(
        `import { get } from "gatehouse:store";
export default async function () { const got = []; for (let i = 0; i < 5; i++) { try { got.push(await get("c", String(i))); } catch (e) { got.push(e.name); } } return got; }`,
        { hostCall, limits: { maxHostCalls: 2 } },
      ),
    );
    expect(caught).toMatchObject({
      outcome: "ok",
      output: ["v", "v", "HostCallLimitExceeded", "HostCallLimitExceeded", "HostCallLimitExceeded"],
      hostCalls: 2,
    });
  });

  it("serves at most 8 host calls at a time and answers all of them", async () => {
    let serving = 0;
    let most = 0;
    const hostCall = async (_module: string, _fn: string, args: unknown[]) => {
      serving += 1;
      most = Math.max(most, serving);
      await new Promise((resolve) => setTimeout(resolve, 5));
      serving -= 1;
      return args[1];
    };
    const result = await pool.run(
      request(
        `import { get } from "gatehouse:store";
export default function () { return Promise.all(Array.from({ length: 20 }, (_, i) => get("c", i))); }`,
        { hostCall },
      ),
    );
    expect(result).toMatchObject({ outcome: "ok", output: Array.from({ length: 20 }, (_, i) => i), hostCalls: 20 });
    expect(most).toBe(8);
  });

  it("finishes host calls the macro did not await before answering", async () => {
    const { hostCall, calls } = recordingHost();
    const result = await pool.run(
      request(`import { put } from "gatehouse:store"; export default function () { put("c", "1", {}); put("c", "2", {}); return 1; }`, {
        hostCall,
      }),
    );
    expect(result).toMatchObject({ outcome: "ok", output: 1, hostCalls: 2 });
    expect(calls).toHaveLength(2);
  });

  it("aborts a slow host call's signal when the run ends at its deadline", async () => {
    let aborted: Promise<unknown> | undefined;
    const result = await pool.run(
      request(`import { get } from "gatehouse:store"; export default async function () { return await get("c", "1"); }`, {
        limits: { timeoutMs: 200 },
        hostCall: (_module, _fn, _args, { signal }) => {
          aborted = new Promise((resolve) => signal.addEventListener("abort", resolve));
          return new Promise(() => {});
        },
      }),
    );
    expect(result.outcome).toBe("timeout");
    await expect(aborted).resolves.toBeDefined();
  });
});

describe("run: limits", () => {
  it("answers timeout for while(true){} near the deadline", async () => {
    const started = performance.now();
    const result = await pool.run(request(`export default function () { while (true) {} }`, { limits: { timeoutMs: 200 } }));
    const elapsed = performance.now() - started;
    console.log(`while(true) with a 200 ms deadline: answered in ${elapsed.toFixed(0)} ms`);
    expect(result.outcome).toBe("timeout");
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(1500);
  });

  it("answers timeout for a loop in top-level code and in a promise job", async () => {
    const topLevel = await pool.run(request(`while (true) {} export default function () {}`, { limits: { timeoutMs: 150 } }));
    expect(topLevel.outcome).toBe("timeout");
    const inJob = await pool.run(
      request(`export default async function () { await null; for (;;) {} }`, { limits: { timeoutMs: 150 } }),
    );
    expect(inJob.outcome).toBe("timeout");
  });

  it("answers error, not a crash, for deep recursion, and the worker goes on", async () => {
    const before = pool.stats();
    // 8 MiB is clamped to the 1 MiB ceiling: beyond about 2 MiB the worker's native stack would overflow first.
    for (const maxStackBytes of [64 * 1024, 512 * 1024, 1024 * 1024, 8 * 1024 * 1024]) {
      const result = await pool.run(
        request(`export default function f(n) { return f(n + 1) + 1; }`, { input: 0, limits: { maxStackBytes } }),
      );
      expect(result, String(maxStackBytes)).toMatchObject({ outcome: "error", errorMessage: expect.stringMatching(/stack overflow \(at macro:1/) });
    }
    const after = pool.stats();
    expect(after.crashed).toBe(before.crashed);
    expect(after.recycled).toBe(before.recycled);
    expect((await pool.run(request(`export default function () { return 1; }`))).outcome).toBe("ok");
  });

  it("answers error for native recursion (JSON.parse, String of nested arrays)", async () => {
    for (const code of [
      `export default function () { return JSON.parse("[".repeat(100000) + "]".repeat(100000)); }`,
      `export default function () { let a = []; for (let i = 0; i < 100000; i++) a = [a]; return String(a); }`,
    ]) {
      const result = await pool.run(request(code));
      expect(result).toMatchObject({ outcome: "error", errorMessage: expect.stringMatching(/stack overflow/) });
    }
    expect((await pool.run(request(`export default function () { return 2; }`))).output).toBe(2);
  });

  it("answers output_limit for a huge output", async () => {
    const result = await pool.run(
      request(`export default function () { return "x".repeat(100000); }`, { limits: { maxOutputBytes: 64 * 1024 } }),
    );
    expect(result).toMatchObject({ outcome: "output_limit" });
    expect(result).not.toHaveProperty("output");
  });

  it("counts logs and output together against maxOutputBytes", async () => {
    const code = `import { log } from "gatehouse:log"; export default function () { log("a".repeat(600)); return "b".repeat(500); }`;
    expect((await pool.run(request(code, { limits: { maxOutputBytes: 1200 } }))).outcome).toBe("ok");
    expect((await pool.run(request(code, { limits: { maxOutputBytes: 1000 } }))).outcome).toBe("output_limit");
  });

  it("answers output_limit for too many logs, keeping the lines within the cap", async () => {
    const result = await pool.run(
      request(
        `import { log } from "gatehouse:log"; export default function () { for (let i = 0; ; i++) { try { log("line " + i); } catch {} } }`,
        { limits: { maxOutputBytes: 10_000 } },
      ),
    );
    expect(result.outcome).toBe("output_limit");
    expect(result.logs.length).toBeGreaterThan(100);
    expect(result.logs.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0)).toBeLessThanOrEqual(10_000);
    expect(result.logs[0]).toBe("line 0");
  });

  it("rejects invalid requests with TypeError", async () => {
    await expect(pool.run(request(`export default function () {}`, { limits: { timeoutMs: -1 } }))).rejects.toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(pool.run(request(`export default function () {}`, { input: cyclic }))).rejects.toThrow(TypeError);
  });
});
