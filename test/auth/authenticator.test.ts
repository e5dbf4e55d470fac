import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthenticator } from "../../src/auth/authenticator.js";
import { createAuthFailureLimit } from "../../src/auth/failure-limit.js";
import type { SessionManager } from "../../src/auth/sessions.js";
import { DomainError } from "../../src/domain/errors.js";
import { createRoomTokenResolver } from "../../src/rooms/room-tokens.js";
import type { Database } from "../../src/store/database.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * The failed-authentication limit refuses, past it, before the database
 * lookup a credential would cause: the authenticator built over a real
 * server's database, Redis and session manager, with the lookups counted.
 */
describe("authenticator: failed-authentication limit before any database lookup", () => {
  const LIMIT = 3;
  let server: TestServer;
  let lookups = 0;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  const build = () => {
    const deps = server.gatehouse.deps;
    const sessions = new Proxy(deps.sessions, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if ((prop === "load" || prop === "resolveCookie") && typeof value === "function") {
          return (...args: unknown[]) => {
            lookups += 1;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return value;
      },
    }) as SessionManager;
    const db = new Proxy(deps.db, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if ((prop === "asSystem" || prop === "inTenant") && typeof value === "function") {
          return (...args: unknown[]) => {
            lookups += 1;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return value;
      },
    }) as Database;
    const roomTokens = createRoomTokenResolver(db, deps.policies, deps.bus);
    // A limiter of its own (a fresh name): this test's counts start at zero.
    const limiters = (spec: Parameters<typeof deps.limiters>[0]) => deps.limiters({ ...spec, name: `${spec.name}-${randomUUID()}` });
    return createAuthenticator(deps.tokens, sessions, { roomTokens, failures: createAuthFailureLimit(limiters, LIMIT) });
  };

  const outcome = async (p: Promise<unknown>) => {
    try {
      await p;
      return "ok";
    } catch (err) {
      return err instanceof DomainError ? err.reason : String(err);
    }
  };

  it("looks nothing up for forged cookies and room tokens on unknown rooms once over the limit", async () => {
    const authenticator = build();
    const forgedCookie = () => new Headers({ cookie: `gh_session=ghs.${randomUUID()}.${randomUUID()}.${Buffer.alloc(32, 1).toString("base64url")}` });
    const roomToken = new Headers({ "x-room-token": "0" });
    const attempt = (header: Headers, message: unknown = {}) => outcome(authenticator.authenticate({ header, mutates: false, ip: "198.51.100.9", message }));
    for (let i = 0; i < LIMIT; i++) expect(await attempt(forgedCookie())).toBe("UNAUTHENTICATED");
    expect(lookups).toBe(LIMIT);
    lookups = 0;
    expect(await attempt(forgedCookie())).toBe("AUTH_RATE_LIMITED");
    expect(await attempt(roomToken, { roomId: randomUUID() })).toBe("AUTH_RATE_LIMITED");
    expect(await attempt(new Headers({ authorization: "Bearer garbage" }))).toBe("AUTH_RATE_LIMITED");
    expect(lookups).toBe(0);
    // A valid token of the same client still gets in (one session lookup).
    const token = await server.login();
    expect(await attempt(new Headers({ authorization: `Bearer ${token}` }))).toBe("ok");
  });
});
