import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import fc from "fast-check";
import { SignJWT } from "jose";
import { createUser, refusalOf, refused, type FixtureUser } from "../support/fixtures.js";
import { adminPassword, startTestServer, type TestServer } from "../support/server.js";
import { createTestDatabase } from "../support/database.js";
import { initDatabase } from "../../src/store/database.js";

/**
 * Issue 13, findings 1, 3, 4 and 10 (tokens), over the real server:
 * malformed credentials in any position, token lifetime, the failed
 * authentication limit and the audit of every login attempt.
 */

const USER = 2;

/** call posts a Connect JSON call with the given headers and answers its HTTP status and ErrorDetail reason. */
async function call(server: TestServer, method: string, body: object, headers: Record<string, string>): Promise<{ status: number; code: string; reason: string }> {
  const res = await fetch(`${server.baseUrl}/gatehouse.v1.${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", "connect-protocol-version": "1", ...headers },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { code?: string; details?: Array<{ debug?: { reason?: string } }> };
  return { status: res.status, code: json.code ?? "ok", reason: json.details?.[0]?.debug?.reason ?? "" };
}

/** claimsOf decodes an access token's payload (no verification). */
function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
}

describe("malformed credentials and token claims", () => {
  let server: TestServer;
  let user: FixtureUser;
  let roomId: string;
  beforeAll(async () => {
    server = await startTestServer({ env: { GATEHOUSE_SECURE_COOKIES: "false", GATEHOUSE_AUTH_FAILURES_PER_MINUTE: "1000000" } });
    user = await createUser(server, { level: USER, roles: ["viewer"], prefix: "asec" });
    const admin = await server.login();
    roomId = (await server.client({ token: admin }).rooms.createRoom({ name: `asec-${randomUUID().slice(0, 8)}` })).room!.roomId;
  });
  afterAll(async () => {
    await server?.close();
  });

  /** sign signs claims with the server's real key, starting from the user's own token. */
  const sign = (extra: Record<string, unknown>) => {
    const key = server.gatehouse.deps.signingKeys.signer();
    return new SignJWT({ ...claimsOf(user.token), ...extra }).setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "JWT" }).sign(key.privateKey);
  };

  it("answers UNAUTHENTICATED for a gh_session cookie that is not valid percent-encoding", async () => {
    for (const cookie of ["gh_session=%E0%A4%A", "gh_session=%", "gh_session=%zz; gh_csrf=x", "a=b; gh_session=%E0%A4%A"]) {
      expect(await call(server, "AuthService/WhoAmI", {}, { cookie }), cookie).toMatchObject({ status: 401, code: "unauthenticated" });
    }
  });

  it("answers UNAUTHENTICATED for a token signed with the real key whose sid, tid or sub is malformed", async () => {
    for (const bad of [{ sid: "not-a-uuid" }, { sid: 5 }, { sid: "'; drop table sessions; --" }, { tid: "x" }, { sub: "" }, { lvl: "3" }, { lvl: 2.5 }, { jti: 7 }]) {
      await refused(server.client({ token: await sign(bad) }).auth.whoAmI({}), Code.Unauthenticated, "UNAUTHENTICATED");
    }
    // The same token with its claims intact is accepted: the refusals above are the claims'.
    expect((await server.client({ token: await sign({}) }).auth.whoAmI({})).user?.userId).toBe(user.id);
  });

  it("refuses a token signed with the real key that outlives GATEHOUSE_ACCESS_TOKEN_TTL_SECONDS or is dated ahead", async () => {
    const now = Math.floor(Date.now() / 1000);
    const ttl = server.config.accessTokenTtlSeconds;
    for (const bad of [
      { iat: now, exp: now + ttl + 60 },
      { iat: now - 10, exp: now + 365 * 86_400 },
      { iat: now + 86_400, exp: now + 86_400 + ttl },
      { iat: now, exp: now },
      { iat: "now", exp: now + 60 },
    ]) {
      await refused(server.client({ token: await sign(bad) }).auth.whoAmI({}), Code.Unauthenticated, "UNAUTHENTICATED");
    }
    expect((await server.client({ token: await sign({ iat: now, exp: now + ttl }) }).auth.whoAmI({})).user?.userId).toBe(user.id);
  });

  it("answers UNAUTHENTICATED, never INTERNAL or INVALID_ARGUMENT, for any credential shape in any position (fuzz)", async () => {
    const headerChar = fc.constantFrom(..."abcXYZ019 .-_~+/=%;,:\"'\\{}[]@!#$&*()?<>|`^".split(""), "%E0%A4%A", "%00", "Bearer ", "ghs.", "é", "\u00ff");
    const headerText = fc.array(headerChar, { maxLength: 40 }).map((parts) => parts.join("").trim());
    const uuidish = fc.oneof(fc.uuid(), headerText, fc.constant(randomUUID()), fc.constant("00000000-0000-0000-0000-000000000000"));
    const claim = fc.oneof(headerText, uuidish, fc.integer(), fc.double({ noDefaultInfinity: true, noNaN: true }), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }));
    const signed = fc
      .record({ sub: claim, tid: claim, sid: claim, lvl: claim, jti: claim, iat: fc.oneof(claim, fc.integer({ min: 0, max: 2 ** 32 })), exp: fc.oneof(claim, fc.integer({ min: 0, max: 2 ** 32 })) }, { requiredKeys: [] })
      .map((claims) => ({ signed: claims }));
    // The room a room token is tried on is a well-formed id: a malformed id in the request body is
    // refused by request validation before any credential is read (INVALID_ARGUMENT, about the request).
    const credentials = fc.record(
      {
        authorization: fc.oneof(headerText, headerText.map((t) => `Bearer ${t}`), fc.constant("Bearer "), fc.constant(`Bearer ${user.token}x`)),
        cookie: fc.oneof(headerText.map((t) => `gh_session=${t}`), uuidish.map((t) => `gh_session=ghs.${t}.${randomUUID()}.${"A".repeat(43)}`), headerText),
        room: fc.record({ token: fc.oneof(headerText, fc.constant("0"), fc.constant("A".repeat(43))), roomId: fc.oneof(fc.uuid(), fc.constant(randomUUID()), fc.constant(roomId)) }),
        jwt: signed,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(credentials, async (c) => {
        const headers: Record<string, string> = {};
        if (c.cookie !== undefined) headers.cookie = c.cookie;
        if (c.room !== undefined) headers["x-room-token"] = c.room.token;
        if (c.jwt !== undefined) {
          headers.authorization = `Bearer ${await new SignJWT(c.jwt.signed as Record<string, unknown>).setProtectedHeader({ alg: "EdDSA", kid: server.gatehouse.deps.signingKeys.signer().kid }).setIssuer(server.config.jwtIssuer).setAudience(server.config.jwtAudience).sign(server.gatehouse.deps.signingKeys.signer().privateKey)}`;
        } else if (c.authorization !== undefined) headers.authorization = c.authorization;
        for (const [method, body] of [
          ["AuthService/WhoAmI", {}],
          ["RoomsService/GetRoom", { roomId: c.room?.roomId ?? roomId }],
        ] as const) {
          const answer = await call(server, method, body, headers);
          // The room's own viewer token may open it (the seed's read-only link); anything else is refused as unauthenticated.
          if (answer.code === "ok" || answer.code === "permission_denied") {
            expect(headers["x-room-token"], JSON.stringify(headers)).toBeDefined();
            continue;
          }
          expect({ method, code: answer.code, reason: answer.reason }, JSON.stringify(headers)).toMatchObject({ method, code: "unauthenticated" });
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 150), seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined },
    );
  });
});

describe("failed authentication limit (GATEHOUSE_AUTH_FAILURES_PER_MINUTE)", () => {
  const LIMIT = 10;
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    // Trusting x-forwarded-for lets one test speak from IPv6 addresses; without it the socket's address counts.
    server = await startTestServer({ env: { GATEHOUSE_AUTH_FAILURES_PER_MINUTE: String(LIMIT), GATEHOUSE_SECURE_COOKIES: "false", GATEHOUSE_TRUST_PROXY: "true" } });
    token = await server.login();
  });
  afterAll(async () => {
    await server?.close();
  });
  // Every test starts with a clean count for 127.0.0.1 (the counter lives in Redis).
  const resetCount = () => server.gatehouse.deps.limiters({ name: "auth-fail", points: LIMIT, durationSeconds: 60 }).reset("127.0.0.1");

  /** expectLimited sends `attempt` LIMIT times (refused as `reason`), then twice more (AUTH_RATE_LIMITED with retry_after). */
  async function expectLimited(attempt: () => Promise<{ status: number; code: string; reason: string }>, reason: string) {
    await resetCount();
    for (let i = 0; i < LIMIT; i++) expect(await attempt(), `attempt ${i + 1}`).toMatchObject({ code: "unauthenticated", reason });
    for (let i = 0; i < 2; i++) expect(await attempt(), `attempt ${LIMIT + i + 1}`).toMatchObject({ status: 429, code: "resource_exhausted", reason: "AUTH_RATE_LIMITED" });
  }

  it("refuses garbage bearer tokens with AUTH_RATE_LIMITED past the limit, with retry_after, and still lets a valid token in", async () => {
    await expectLimited(() => call(server, "AuthService/WhoAmI", {}, { authorization: `Bearer garbage-${randomUUID()}` }), "UNAUTHENTICATED");
    const detail = await refused(server.client({ token: "garbage" }).auth.whoAmI({}), Code.ResourceExhausted, "AUTH_RATE_LIMITED");
    expect(Number(detail.retryAfter?.seconds)).toBeGreaterThan(0);
    // Calls without credentials are refused the same way once over the limit.
    await refused(server.client().auth.whoAmI({}), Code.ResourceExhausted, "AUTH_RATE_LIMITED");
    // A valid token is never blocked by it.
    expect((await server.client({ token }).auth.whoAmI({})).user?.username).toBe("admin");
  });

  it("counts calls without credentials as failures", async () => {
    await expectLimited(() => call(server, "AuthService/WhoAmI", {}, {}), "UNAUTHENTICATED");
    expect((await server.client({ token }).auth.whoAmI({})).user?.username).toBe("admin");
  });

  it("refuses room token 0 on random room ids past the limit", async () => {
    await expectLimited(() => call(server, "RoomsService/GetRoom", { roomId: randomUUID() }, { "x-room-token": "0" }), "INVALID_ROOM_TOKEN");
    const room = (await server.client({ token }).rooms.createRoom({ name: `lim-${randomUUID().slice(0, 8)}` })).room!;
    expect((await server.client({ token }).rooms.getRoom({ roomId: room.roomId })).room?.roomId).toBe(room.roomId);
  });

  it("refuses forged session cookies past the limit, and still lets a genuine session cookie in", async () => {
    const login = await fetch(`${server.baseUrl}/gatehouse.v1.AuthService/Login`, {
      method: "POST",
      headers: { "content-type": "application/json", "connect-protocol-version": "1", origin: server.baseUrl },
      body: JSON.stringify({ tenant: "default", username: "admin", password: adminPassword }),
    });
    const genuine = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    const forged = () => `gh_session=ghs.${randomUUID()}.${randomUUID()}.${Buffer.alloc(32, 7).toString("base64url")}`;
    await expectLimited(() => call(server, "AuthService/WhoAmI", {}, { cookie: forged() }), "UNAUTHENTICATED");
    expect(await call(server, "AuthService/WhoAmI", {}, { cookie: "gh_session=%E0%A4%A" })).toMatchObject({ code: "resource_exhausted", reason: "AUTH_RATE_LIMITED" });
    expect(await call(server, "AuthService/WhoAmI", {}, { cookie: genuine })).toMatchObject({ status: 200, code: "ok" });
  });

  it("counts IPv6 clients per /64", async () => {
    const from = (ip: string) => call(server, "AuthService/WhoAmI", {}, { authorization: "Bearer garbage", "x-forwarded-for": ip });
    for (let i = 0; i < LIMIT; i++) expect(await from(`2001:db8:aa:1::${(i + 1).toString(16)}`)).toMatchObject({ code: "unauthenticated" });
    // Another address of the same /64 is over the limit; another /64 is not.
    expect(await from("2001:db8:aa:1:ffff:ffff:ffff:ffff")).toMatchObject({ code: "resource_exhausted", reason: "AUTH_RATE_LIMITED" });
    expect(await from("2001:db8:aa:2::1")).toMatchObject({ code: "unauthenticated", reason: "UNAUTHENTICATED" });
  });

  it("leaves calls with valid credentials uncounted", async () => {
    await resetCount();
    for (let i = 0; i < LIMIT * 2; i++) await server.client({ token }).auth.whoAmI({});
    const r = await refusalOf(server.client({ token: "garbage" }).auth.whoAmI({}));
    expect({ code: Code[r.code], reason: r.detail.reason }).toEqual({ code: "Unauthenticated", reason: "UNAUTHENTICATED" });
  });
});

interface LoginRecord {
  tenant_id: string;
  actor_id: string | null;
  actor_name: string | null;
  ip: string | null;
  outcome: string;
  reason: string | null;
  resource: string | null;
  details: Record<string, unknown> | null;
}

const loginRecordsSql = "select tenant_id, actor_id, actor_name, ip, outcome, reason, resource, details from audit_events where action = 'auth.login' and method = 'gatehouse.v1.AuthService/Login' order by tenant_id, seq";

/** waitOutWindowEdge waits (at most a minute) when the daily audit window ends within the next minute, so a test's attempts share one window. */
async function waitOutWindowEdge(): Promise<void> {
  const toEnd = 86_400_000 - (Date.now() % 86_400_000);
  if (toEnd < 60_000) await new Promise((r) => setTimeout(r, toEnd + 1000));
}

describe("every login attempt is audited, within a bound", () => {
  it("records each refused attempt with reason, username and client address, 20 per account and window, then one summary carrying the count", async () => {
    await waitOutWindowEdge();
    const testDb = await createTestDatabase();
    const server = await startTestServer({ db: testDb, env: { GATEHOUSE_LOCKOUT_USER_WINDOW_SECONDS: "86400" } });
    let closed = false;
    try {
      const victim = await createUser(server, { level: USER, roles: ["viewer"], prefix: "flood" });
      const login = (password: string, username = victim.username) => server.client().auth.login({ tenant: "default", username, password });
      for (let i = 0; i < 5; i++) await refused(login("wrong-password-1"), Code.Unauthenticated, "INVALID_CREDENTIALS");
      // The right password during the lockout is refused, and recorded.
      await refused(login("fixture-password-1"), Code.ResourceExhausted, "LOGIN_LOCKED");
      for (let i = 0; i < 24; i++) await refused(login("wrong-password-1"), Code.ResourceExhausted, "LOGIN_LOCKED");
      // Rotating usernames from one client: its records stop at 100 per window too.
      for (let batch = 0; batch < 9; batch++) {
        await Promise.all(Array.from({ length: 10 }, (_, i) => refused(login("wrong-password-1", `rotate-${batch}${i}-${randomUUID().slice(0, 6)}`), Code.Unauthenticated, "INVALID_CREDENTIALS")));
      }

      const rows = (await server.gatehouse.deps.db.asSystem((em) => em.execute(loginRecordsSql))) as LoginRecord[];
      // (createUser logged the victim in once: that ALLOWED record is not an attempt of the flood.)
      const mine = rows.filter((r) => r.actor_name === victim.username && r.outcome !== "ALLOWED");
      expect(mine.map((r) => r.reason)).toEqual([...Array<string>(5).fill("INVALID_CREDENTIALS"), ...Array<string>(15).fill("LOGIN_LOCKED")]);
      expect(mine.map((r) => r.details?.attempt)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      for (const r of mine) {
        expect(r.ip).toMatch(/127\.0\.0\.1$/);
        expect(r.resource).toBe(`user:${victim.username}`);
      }
      // Where the account was looked up (not when refused before, as locked), the record names its id too.
      expect(mine.slice(0, 5).map((r) => r.actor_id)).toEqual(Array<string>(5).fill(victim.id));
      expect(mine.filter((r) => r.outcome === "DENIED")).toHaveLength(5);
      const rotating = rows.filter((r) => r.actor_name?.startsWith("rotate-"));
      expect(rotating).toHaveLength(80);
      // The correct password still logs in once the lockout is over; a success is always recorded.
      await server.gatehouse.deps.limiters({ name: "login-fail-user", points: 5, durationSeconds: 900 }).reset(`default\u0000${victim.username}`);
      await login("fixture-password-1");

      await server.close();
      closed = true;
      const db = await initDatabase({ url: testDb.url, poolMax: 2 });
      try {
        const after = (await db.asSystem((em) => em.execute(loginRecordsSql))) as LoginRecord[];
        const summaries = after.filter((r) => r.reason === "LOGIN_ATTEMPTS_SUMMARY");
        expect(summaries).toHaveLength(2);
        const account = summaries.find((r) => r.details?.summary === "account")!;
        expect(account.actor_name).toBe(victim.username);
        expect(account.details).toMatchObject({ attempts: 30, recorded: 20, notRecorded: 10, username: victim.username });
        const client = summaries.find((r) => r.details?.summary === "client")!;
        expect(client.details).toMatchObject({ attempts: 110, recorded: 100, notRecorded: 10 });
        const success = after.filter((r) => r.actor_name === victim.username && r.outcome === "ALLOWED");
        expect(success).toHaveLength(2);
      } finally {
        await db.close();
      }
    } finally {
      if (!closed) await server.close();
      await testDb.drop();
    }
  }, 180_000);

  describe("attempts refused before any account is found", () => {
    let server: TestServer;
    let platformTenant: string;
    beforeAll(async () => {
      server = await startTestServer({ env: { GATEHOUSE_LOGIN_RATE_LIMIT_PER_MINUTE: "4" } });
      platformTenant = ((await server.gatehouse.deps.db.asSystem((em) => em.execute("select id from tenants where name = 'default'"))) as Array<{ id: string }>)[0]!.id;
    });
    afterAll(async () => {
      await server?.close();
    });
    const records = async () => (await server.gatehouse.deps.db.asSystem((em) => em.execute(loginRecordsSql))) as LoginRecord[];

    it("records malformed usernames and tenants (INVALID_ARGUMENT) in the platform tenant's chain", async () => {
      const login = (tenant: string, username: string) => server.client().auth.login({ tenant, username, password: "whatever-password" });
      await refused(login("default", "nul\u0000user"), Code.InvalidArgument, "INVALID_ARGUMENT");
      await refused(login("default", "x".repeat(200)), Code.InvalidArgument, "INVALID_ARGUMENT");
      await refused(login("default", ""), Code.InvalidArgument, "INVALID_ARGUMENT");
      await refused(login("bad\u0007tenant", "someone"), Code.InvalidArgument, "INVALID_ARGUMENT");
      const rows = (await records()).filter((r) => r.reason === "INVALID_ARGUMENT");
      expect(rows.map((r) => r.actor_name)).toEqual(["nul\\u0000user", "x".repeat(64), "", "someone"]);
      expect(rows.every((r) => r.tenant_id === platformTenant && r.ip !== null && r.ip !== "")).toBe(true);
      expect(rows[3]!.details).toMatchObject({ tenant: "bad\\u0007tenant" });
    });

    it("records attempts naming no tenant in the platform tenant's chain, with the tenant tried, and rate-limited attempts", async () => {
      const tenant = `no-such-${randomUUID().slice(0, 8)}`;
      for (let i = 0; i < 4; i++) {
        await refused(server.client().auth.login({ tenant, username: "admin", password: "whatever-password" }), Code.Unauthenticated, "INVALID_CREDENTIALS");
      }
      await refused(server.client().auth.login({ tenant, username: "admin", password: "whatever-password" }), Code.ResourceExhausted, "RATE_LIMITED");
      const rows = (await records()).filter((r) => r.details?.tenant === tenant);
      expect(rows.map((r) => r.reason)).toEqual(["INVALID_CREDENTIALS", "INVALID_CREDENTIALS", "INVALID_CREDENTIALS", "INVALID_CREDENTIALS", "RATE_LIMITED"]);
      expect(rows.every((r) => r.tenant_id === platformTenant && r.actor_name === "admin" && r.actor_id === null)).toBe(true);
    });
  });
});
