import { createHmac, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { SignJWT, base64url } from "jose";
import { ErrorDetailSchema } from "../../gen/gatehouse/v1/common_pb.js";
import { createUser, refused, type FixtureUser } from "../support/fixtures.js";
import { adminPassword, startTestServer, type TestServer } from "../support/server.js";

const USER = 2;

function tamper(token: string, edit: (payload: Record<string, unknown>) => void): string {
  const [h, p, s] = token.split(".");
  const payload = JSON.parse(Buffer.from(p!, "base64url").toString()) as Record<string, unknown>;
  edit(payload);
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${s}`;
}

describe("AuthService", () => {
  let server: TestServer;
  let user: FixtureUser;
  beforeAll(async () => {
    server = await startTestServer({ env: { GATEHOUSE_LOCKOUT_USER_DURATION_SECONDS: "2", GATEHOUSE_SECURE_COOKIES: "false" } });
    user = await createUser(server, { level: USER, roles: ["viewer"], prefix: "auth" });
  });
  afterAll(async () => {
    await server?.close();
  });
  const auth = (token?: string) => server.client({ token }).auth;

  describe("Login", () => {
    it("answers tokens, the user and the session expiry", async () => {
      const res = await auth().login({ tenant: "default", username: "admin", password: adminPassword });
      expect(res.accessToken.split(".")).toHaveLength(3);
      expect(res.refreshToken).toMatch(/^ghr\./);
      expect(res.user?.username).toBe("admin");
      expect(Number(res.expiresAt!.seconds) - Date.now() / 1000).toBeGreaterThan(800);
      expect(res.csrfToken).toBe("");
    });

    it("gives the same answer for an unknown user, an unknown tenant and a wrong password", async () => {
      const answers = await Promise.all([
        refused(auth().login({ tenant: "default", username: `nobody-${randomUUID()}`, password: "whatever-password" }), Code.Unauthenticated, "INVALID_CREDENTIALS"),
        refused(auth().login({ tenant: `no-tenant-${randomUUID()}`, username: "admin", password: "whatever-password" }), Code.Unauthenticated, "INVALID_CREDENTIALS"),
        refused(auth().login({ tenant: "default", username: user.username, password: "wrong-password-1" }), Code.Unauthenticated, "INVALID_CREDENTIALS"),
      ]);
      expect(new Set(answers.map((a) => a.message)).size).toBe(1);
    });

    it("locks an account out after 5 failures, with a retry delay, and lets it in after the lockout", async () => {
      const victim = await createUser(server, { level: USER, roles: ["viewer"], prefix: "lock" });
      for (let i = 0; i < 5; i++) {
        await refused(auth().login({ tenant: "default", username: victim.username, password: "wrong-password-1" }), Code.Unauthenticated, "INVALID_CREDENTIALS");
      }
      const err = await auth().login({ tenant: "default", username: victim.username, password: "fixture-password-1" }).catch((e: unknown) => ConnectError.from(e));
      expect(err).toBeInstanceOf(ConnectError);
      const e = err as ConnectError;
      expect(e.code).toBe(Code.ResourceExhausted);
      const detail = e.findDetails(ErrorDetailSchema)[0]!;
      expect(detail.reason).toBe("LOGIN_LOCKED");
      expect(Number(detail.retryAfter?.seconds)).toBeGreaterThan(0);
      expect(Number(e.metadata.get("retry-after"))).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 2200));
      const ok = await auth().login({ tenant: "default", username: victim.username, password: "fixture-password-1" });
      expect(ok.user?.userId).toBe(victim.id);
    });
  });

  describe("tokens", () => {
    it("refuses tampered, unsigned, wrongly signed, foreign-key, wrong-audience and expired tokens", async () => {
      const good = user.token;
      const key = server.gatehouse.deps.signingKeys.signer();
      const header = (h: object) => Buffer.from(JSON.stringify(h)).toString("base64url");
      const [, payload] = good.split(".");
      const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as Record<string, unknown>;
      const publicRaw = base64url.decode(key.publicJwk.x as string);
      const hsWithPublicKey = (() => {
        const h = header({ alg: "HS256", kid: key.kid, typ: "JWT" });
        const sig = createHmac("sha256", publicRaw).update(`${h}.${payload}`).digest("base64url");
        return `${h}.${payload}.${sig}`;
      })();
      const sign = (extra: Record<string, unknown>, kid = key.kid) =>
        new SignJWT({ ...claims, ...extra }).setProtectedHeader({ alg: "EdDSA", kid }).sign(key.privateKey);
      const bad = [
        tamper(good, (p) => (p.lvl = 5)),
        `${header({ alg: "none", typ: "JWT" })}.${payload}.`,
        hsWithPublicKey,
        await sign({}, "someone-elses-kid"),
        await sign({ aud: "another-service" }),
        await sign({ exp: Math.floor(Date.now() / 1000) - 120, iat: Math.floor(Date.now() / 1000) - 1000 }),
        "not-a-jwt",
        good + "x",
      ];
      for (const token of bad) {
        await refused(auth(token).whoAmI({}), Code.Unauthenticated, "UNAUTHENTICATED");
      }
      expect((await auth(good).whoAmI({})).user?.userId).toBe(user.id);
    });

    it("rotates refresh tokens and revokes the session when an old one is reused", async () => {
      const login = await auth().login({ tenant: "default", username: user.username, password: "fixture-password-1" });
      const first = await auth().refresh({ refreshToken: login.refreshToken });
      expect(first.refreshToken).not.toBe(login.refreshToken);
      expect((await auth(first.accessToken).whoAmI({})).user?.userId).toBe(user.id);
      await refused(auth().refresh({ refreshToken: login.refreshToken }), Code.Unauthenticated, "REFRESH_TOKEN_REUSED");
      await refused(auth().refresh({ refreshToken: first.refreshToken }), Code.Unauthenticated, "UNAUTHENTICATED");
      await refused(auth(first.accessToken).whoAmI({}), Code.Unauthenticated, "UNAUTHENTICATED");
    });
  });

  describe("Logout", () => {
    it("revokes the session at once", async () => {
      const login = await auth().login({ tenant: "default", username: user.username, password: "fixture-password-1" });
      expect((await auth(login.accessToken).whoAmI({})).user?.userId).toBe(user.id);
      await auth(login.accessToken).logout({});
      await refused(auth(login.accessToken).whoAmI({}), Code.Unauthenticated, "UNAUTHENTICATED");
      await refused(auth().refresh({ refreshToken: login.refreshToken }), Code.Unauthenticated, "UNAUTHENTICATED");
    });
  });

  describe("browser mode", () => {
    const post = (path: string, body: object, headers: Record<string, string>) =>
      fetch(`${server.baseUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "connect-protocol-version": "1", ...headers },
        body: JSON.stringify(body),
      });

    it("sets HttpOnly session and readable CSRF cookies, and refuses cookie mutations without the right x-csrf-token", async () => {
      const origin = server.baseUrl;
      const login = await post("/gatehouse.v1.AuthService/Login", { tenant: "default", username: "admin", password: adminPassword }, { origin });
      expect(login.status).toBe(200);
      const cookies = login.headers.getSetCookie();
      const session = cookies.find((c) => c.startsWith("gh_session="))!;
      const csrfCookie = cookies.find((c) => c.startsWith("gh_csrf="))!;
      expect(session).toContain("HttpOnly");
      expect(session).toContain("SameSite=Strict");
      expect(csrfCookie).not.toContain("HttpOnly");
      const csrf = ((await login.json()) as { csrfToken: string }).csrfToken;
      expect(csrfCookie).toContain(csrf);
      const cookie = cookies.map((c) => c.split(";")[0]).join("; ");

      const read = await post("/gatehouse.v1.AuthService/WhoAmI", {}, { cookie, origin });
      expect(read.status).toBe(200);
      const create = (headers: Record<string, string>) => post("/gatehouse.v1.RoomsService/CreateRoom", { name: `cookie-${randomUUID().slice(0, 8)}` }, { cookie, origin, ...headers });
      const missing = await create({});
      expect(missing.status).toBe(403);
      expect(JSON.stringify(await missing.json())).toContain("CSRF_REQUIRED");
      const wrong = await create({ "x-csrf-token": "not-the-token" });
      expect(wrong.status).toBe(403);
      const right = await create({ "x-csrf-token": csrf });
      expect(right.status).toBe(200);

      const out = await post("/gatehouse.v1.AuthService/Logout", {}, { cookie, origin, "x-csrf-token": csrf });
      expect(out.status).toBe(200);
      expect(out.headers.getSetCookie().some((c) => c.startsWith("gh_session=;"))).toBe(true);
      const after = await post("/gatehouse.v1.AuthService/WhoAmI", {}, { cookie, origin });
      expect(after.status).toBe(401);
    });
  });
});

describe("rate limits", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { GATEHOUSE_RATE_LIMIT_PER_MINUTE: "5" } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("answers RESOURCE_EXHAUSTED with a retry delay past the per-principal limit", async () => {
    const token = await server.login();
    const client = server.client({ token }).auth;
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => client.whoAmI({})));
    const refusedCalls = results.filter((r) => r.status === "rejected").map((r) => ConnectError.from((r as PromiseRejectedResult).reason));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(5);
    expect(refusedCalls[0]?.code).toBe(Code.ResourceExhausted);
    expect(refusedCalls[0]?.findDetails(ErrorDetailSchema)[0]?.reason).toBe("RATE_LIMITED");
    expect(Number(refusedCalls[0]?.metadata.get("retry-after"))).toBeGreaterThan(0);
  });
});
