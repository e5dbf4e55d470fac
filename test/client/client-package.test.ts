import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport, type ConnectRouter } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRefusingServer, type RefusingServer } from "../support/refusing-server.js";
import {
  AuthService,
  clientInterceptors,
  createGatehouseClient,
  ErrorDetailSchema,
  errorDetailOf,
  Level,
  MacrosService,
  RoomsService,
  serviceClients,
  type ClientOptions,
  type RetryEvent,
} from "../../src/client/index.js";

/** refusal is a Gatehouse-style error: a code and one ErrorDetail. */
const refusal = (code: Code, reason: string, retryAfterMs?: number) =>
  new ConnectError(reason, code, undefined, [
    { desc: ErrorDetailSchema, value: { reason, retryAfter: retryAfterMs === undefined ? undefined : create(DurationSchema, { seconds: BigInt(Math.floor(retryAfterMs / 1000)), nanos: (retryAfterMs % 1000) * 1e6 }) } },
  ]);

/** fakeServer answers from `fail` until it returns undefined, counting calls, over an in-memory transport with the client's own interceptors. */
function fakeServer(fail: (call: number) => ConnectError | undefined, options: Omit<ClientOptions, "baseUrl"> = {}) {
  const calls = { whoAmI: 0, createRoom: 0 };
  const headers: string[] = [];
  const routes = (router: ConnectRouter) => {
    router.service(AuthService, {
      whoAmI(_req, ctx) {
        headers.push(ctx.requestHeader.get("authorization") ?? "");
        const error = fail(++calls.whoAmI);
        if (error) throw error;
        return { tenantId: "t1", level: Level.ADMIN };
      },
    });
    router.service(RoomsService, {
      createRoom() {
        const error = fail(++calls.createRoom);
        if (error) throw error;
        return { room: { roomId: "r1", name: "x" } };
      },
    });
    router.service(MacrosService, {
      runMacro(req) {
        return { outcome: 1, output: req.input, logs: [] };
      },
    });
  };
  const transport = createRouterTransport(routes, { transport: { interceptors: clientInterceptors({ baseUrl: "memory", ...options }) } });
  return { gh: serviceClients(transport), calls, headers };
}

const failure = (call: Promise<unknown>): Promise<ConnectError> =>
  call.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => ConnectError.from(e),
  );

describe("client package: retries", () => {
  it("retries a read refused as RATE_LIMITED, waiting the server's retry_after, until it succeeds", async () => {
    const retries: RetryEvent[] = [];
    const { gh, calls } = fakeServer((n) => (n < 3 ? refusal(Code.ResourceExhausted, "RATE_LIMITED", 40) : undefined), { retry: { onRetry: (r) => retries.push(r) } });
    expect((await gh.auth.whoAmI({})).tenantId).toBe("t1");
    expect(calls.whoAmI).toBe(3);
    expect(retries.map((r) => [r.attempt, r.delayMs, r.method.name])).toEqual([
      [2, 40, "WhoAmI"],
      [3, 40, "WhoAmI"],
    ]);
  });

  it("retries a read after UNAVAILABLE up to maxAttempts, and not at all with retry: false", async () => {
    const flaky = fakeServer(() => refusal(Code.Unavailable, "UNAVAILABLE"), { retry: { maxAttempts: 3, initialBackoffMs: 1 } });
    expect((await failure(flaky.gh.auth.whoAmI({}))).code).toBe(Code.Unavailable);
    expect(flaky.calls.whoAmI).toBe(3);
    const off = fakeServer(() => refusal(Code.Unavailable, "UNAVAILABLE"), { retry: false });
    expect((await failure(off.gh.auth.whoAmI({}))).code).toBe(Code.Unavailable);
    expect(off.calls.whoAmI).toBe(1);
  });

  it("does not retry a call that changes something, other RESOURCE_EXHAUSTED reasons, or a retry_after beyond maxRetryAfterMs", async () => {
    const write = fakeServer(() => refusal(Code.Unavailable, "UNAVAILABLE"), { retry: { initialBackoffMs: 1 } });
    expect((await failure(write.gh.rooms.createRoom({ name: "x" }))).code).toBe(Code.Unavailable);
    expect(write.calls.createRoom).toBe(1);
    const rateLimitedWrite = fakeServer(() => refusal(Code.ResourceExhausted, "RATE_LIMITED", 1));
    await failure(rateLimitedWrite.gh.rooms.createRoom({ name: "x" }));
    expect(rateLimitedWrite.calls.createRoom).toBe(1);
    const tooLarge = fakeServer(() => refusal(Code.ResourceExhausted, "MESSAGE_TOO_LARGE"));
    expect(errorDetailOf(await failure(tooLarge.gh.auth.whoAmI({})))?.reason).toBe("MESSAGE_TOO_LARGE");
    expect(tooLarge.calls.whoAmI).toBe(1);
    const patient = fakeServer(() => refusal(Code.ResourceExhausted, "RATE_LIMITED", 60_000), { retry: { maxRetryAfterMs: 1000 } });
    expect(errorDetailOf(await failure(patient.gh.auth.whoAmI({})))?.retryAfter?.seconds).toBe(60n);
    expect(patient.calls.whoAmI).toBe(1);
  });

  describe("against a real HTTP/2 server that refuses every stream (REFUSED_STREAM)", () => {
    let server: RefusingServer;
    let baseUrl: string;
    beforeAll(async () => {
      server = await startRefusingServer();
      baseUrl = server.baseUrl;
    });
    afterAll(() => server.close());

    it("retries even a call that changes something, since the server never processed it", async () => {
      const before = server.streams();
      const gh = createGatehouseClient({ baseUrl, retry: { maxAttempts: 3, initialBackoffMs: 1 } });
      expect((await failure(gh.rooms.createRoom({ name: "x" }))).code).toBe(Code.Unavailable);
      expect(server.streams() - before).toBe(3);
      const once = server.streams();
      await failure(createGatehouseClient({ baseUrl, retry: false }).rooms.createRoom({ name: "x" }));
      expect(server.streams() - once).toBe(1);
    });
  });
});

describe("client package: credentials and JSON", () => {
  it("sends an API key as a bearer token", async () => {
    const { gh, headers } = fakeServer(() => undefined, { apiKey: "gh_key_123" });
    await gh.auth.whoAmI({});
    expect(headers).toEqual(["Bearer gh_key_123"]);
    expect(() => fakeServer(() => undefined, { apiKey: "a", token: "b" })).toThrow(TypeError);
  });

  it("takes macro input and answers macro output as plain JSON", async () => {
    const { gh } = fakeServer(() => undefined);
    const input = { n: 1, list: [true, null, "x"], nested: { a: 1.5 } };
    expect((await gh.macros.runMacro({ roomId: "r", macroId: "m", input })).output).toEqual(input);
    expect((await gh.macros.runMacro({ roomId: "r", macroId: "m", input: null })).output).toBeNull();
    expect((await gh.macros.runMacro({ roomId: "r", macroId: "m" })).output).toBeUndefined();
  });
});
