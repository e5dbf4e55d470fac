import { execFileSync, spawn } from "node:child_process";
import { createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Code } from "@connectrpc/connect";
import { decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/gatehouse/v1/admin_pb.js";
import { Level } from "../../gen/gatehouse/v1/common_pb.js";
import { createKek } from "../../src/auth/kek.js";
import { sealContext } from "../../src/auth/signing-keys.js";
import { StartupError } from "../../src/app.js";
import { auditRows, createUser, tenantIdOf } from "../support/fixtures.js";
import { expectAccessRules, expectFailure, waitUntil } from "../support/identity.js";
import { ed25519Pem } from "../support/replicas.js";
import { adminPassword, startTestServer, type TestServer } from "../support/server.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

/**
 * Issue 23, signing keys: keys live in the database sealed under the KEK,
 * RotateSigningKey makes a new one sign while the old one keeps verifying,
 * and a server that is not told on the bus still picks the rotation up.
 */

const repo = fileURLToPath(new URL("../..", import.meta.url));

const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;
const jwksOf = async (server: TestServer) => (await (await fetch(`${server.baseUrl}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string; x: string; d?: string }> };

interface StoredKey {
  kid: string;
  sealed_private_key: string;
  origin: string;
  retired_at: Date | null;
}

describe("signing-key rotation on two servers of one database", { timeout: 180_000 }, () => {
  let db: TestDatabase;
  let one: TestServer;
  let two: TestServer;
  let configuredPem: string;
  let adminToken: string;
  const storedKeys = () =>
    one.gatehouse.deps.db.asSystem(
      (em) => em.execute("select kid, sealed_private_key, origin, retired_at from signing_keys order by generation") as Promise<StoredKey[]>,
    );

  beforeAll(async () => {
    db = await createTestDatabase();
    configuredPem = ed25519Pem();
    // No Redis: each server has its own in-process bus, so the second learns
    // of a rotation only from a token it does not know or its periodic reload.
    one = await startTestServer({ db, redis: false, env: { GATEHOUSE_JWT_PRIVATE_KEY: configuredPem } });
    two = await startTestServer({ db, redis: false });
    adminToken = await one.login();
  }, 120_000);
  afterAll(async () => {
    await two?.close();
    await one?.close();
    await db?.drop();
  });

  it("imports GATEHOUSE_JWT_PRIVATE_KEY once as the first key, which both servers use", async () => {
    const rows = await storedKeys();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.origin).toBe("imported");
    const x = (createPublicKey(configuredPem).export({ format: "jwk" }) as { x: string }).x;
    expect((await jwksOf(one)).keys.map((k) => k.x)).toEqual([x]);
    expect((await jwksOf(two)).keys.map((k) => k.x)).toEqual([x]);
    expect(kidOf(adminToken)).toBe(rows[0]!.kid);
    // The second server started with its own key file-less data directory and no key: it took the ring's.
    expect(kidOf(await two.login())).toBe(rows[0]!.kid);
  });

  it("is SUPERGOD only: a GOD of the platform tenant is refused and the refusal recorded", async () => {
    expectAccessRules(AdminService, { RotateSigningKey: { permission: "", minLevel: Level.SUPERGOD, mutates: true } });
    const god = await createUser(one, { level: Level.GOD, prefix: "god" });
    await expectFailure(one.client({ token: god.token }).admin.rotateSigningKey({}), Code.PermissionDenied, "LEVEL_TOO_LOW");
    await expectFailure(one.client().admin.rotateSigningKey({}), Code.Unauthenticated);
    const rows = await auditRows(one, await tenantIdOf(one), "admin.rotate_signing_key");
    expect(rows.map((r) => [r.actor_id, r.outcome])).toEqual([[god.id, "DENIED"]]);
    expect(await storedKeys()).toHaveLength(1);
  });

  it("rotates: the old token works on both servers, new tokens carry the new kid, JWKS lists both, the record is in the platform chain", async () => {
    const oldKid = kidOf(adminToken);
    const started = Date.now();
    const res = await one.client({ token: adminToken }).admin.rotateSigningKey({});
    expect(res.previousKid).toBe(oldKid);
    expect(res.kid).not.toBe(oldKid);
    const until = Number(res.previousVerifiesUntil!.seconds) * 1000;
    // The token lifetime (900 s by default) plus the margin.
    expect(until - started).toBeGreaterThanOrEqual(one.config.accessTokenTtlSeconds * 1000);

    // The rotating server signs with the new key at once.
    const fresh = await one.login();
    expect(kidOf(fresh)).toBe(res.kid);
    expect((await jwksOf(one)).keys.map((k) => k.kid)).toEqual([res.kid, oldKid]);

    // The other server heard nothing (no shared bus): the new kid verifies there at once...
    expect((await two.client({ token: fresh }).auth.whoAmI({})).user?.username).toBe("admin");
    // ...and the token signed before the rotation still works everywhere.
    for (const server of [one, two]) expect((await server.client({ token: adminToken }).auth.whoAmI({})).user?.username).toBe("admin");
    // It signs with the new key too: the unknown kid made it reload (else its periodic reload, every 10 s).
    const pickedUpMs = await waitUntil(async () => kidOf(await two.login()) === res.kid, 20_000, 250);
    console.log(`second server without a bus signs with the new key after ${pickedUpMs} ms`);
    expect((await jwksOf(two)).keys.map((k) => k.kid)).toEqual([res.kid, oldKid]);

    const rows = await storedKeys();
    expect(rows.map((r) => [r.kid, r.origin, r.retired_at === null])).toEqual([
      [oldKid, "imported", false],
      [res.kid, "rotated", true],
    ]);
    const records = (await auditRows(one, await tenantIdOf(one), "admin.rotate_signing_key")).filter((r) => r.outcome === "ALLOWED");
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ actor_name: "admin", resource: `signing-key:${res.kid}`, details: { kid: res.kid, previousKid: oldKid } });
    expect((await one.client({ token: adminToken }).audit.verifyAuditChain({})).ok).toBe(true);
  });

  it("a database dump alone reveals no private key: sealed values, no PEM, open only with the KEK", async () => {
    const dump = execFileSync("pg_dump", ["--data-only", "--table=signing_keys", db.url], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    const pkcs8 = createPrivateKey(configuredPem).export({ type: "pkcs8", format: "der" });
    expect(dump).not.toMatch(/PRIVATE KEY/);
    for (const encoding of ["base64", "base64url", "hex"] as const) expect(dump).not.toContain(pkcs8.toString(encoding));
    const ed25519Seed = pkcs8.subarray(pkcs8.length - 32);
    for (const encoding of ["base64", "base64url", "hex"] as const) expect(dump).not.toContain(ed25519Seed.toString(encoding));

    const rows = await storedKeys();
    const right = createKek(Buffer.from(db.kek, "base64"));
    const wrong = createKek(randomBytes(32));
    for (const row of rows) {
      expect(row.sealed_private_key).toMatch(new RegExp(`^ghk1\\.${right.id}\\.[A-Za-z0-9_-]+$`));
      expect(dump).toContain(row.sealed_private_key);
      expect(() => createPrivateKey({ key: Buffer.from(row.sealed_private_key.split(".")[2]!, "base64url"), format: "der", type: "pkcs8" })).toThrow();
      expect(() => wrong.open(row.sealed_private_key, sealContext(row.kid))).toThrow(/another KEK/);
      // Moved to another row, it does not open either.
      expect(() => right.open(row.sealed_private_key, sealContext("some-other-kid"))).toThrow(/does not authenticate/);
      const opened = createPrivateKey({ key: right.open(row.sealed_private_key, sealContext(row.kid)), format: "der", type: "pkcs8" });
      expect(opened.asymmetricKeyType).toBe("ed25519");
    }
    const first = createPrivateKey({ key: right.open(rows[0]!.sealed_private_key, sealContext(rows[0]!.kid)), format: "der", type: "pkcs8" });
    expect(first.export({ type: "pkcs8", format: "der" }).equals(pkcs8)).toBe(true);
  });

  it("refuses to start on PostgreSQL without a KEK, or with another one", async () => {
    const missing = await startTestServer({ db, redis: false, env: { GATEHOUSE_KEK: "" } }).then(
      async (s) => (await s.close(), undefined),
      (err: unknown) => err,
    );
    expect(missing).toBeInstanceOf(StartupError);
    expect((missing as Error).message).toMatch(/GATEHOUSE_KEK is required with GATEHOUSE_DATABASE_URL/);
    const wrong = await startTestServer({ db, redis: false, env: { GATEHOUSE_KEK: randomBytes(32).toString("base64") } }).then(
      async (s) => (await s.close(), undefined),
      (err: unknown) => err,
    );
    expect(wrong).toBeInstanceOf(StartupError);
    expect((wrong as Error).message).toMatch(/cannot be opened with this GATEHOUSE_KEK/);
    // Both servers still serve.
    expect((await two.client({ token: adminToken }).auth.whoAmI({})).user?.username).toBe("admin");
  });

  it("gatehouse admin rotate-signing-key rotates through the API", async () => {
    const before = kidOf(await one.login());
    const home = mkdtempSync(join(tmpdir(), "gatehouse-cli-keys-"));
    try {
      const env = { PATH: process.env.PATH, HOME: home, GATEHOUSE_CONFIG: join(home, "gatehouse.json"), GATEHOUSE_URL: one.baseUrl, GATEHOUSE_TOKEN: adminToken };
      const run = (args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [join(repo, "bin", "gatehouse.js"), ...args], { env });
          let stdout = "";
          let stderr = "";
          child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
          child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
          child.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr }));
        });
      const out = await run(["admin", "rotate-signing-key", "--json"]);
      expect(out.code, out.stderr).toBe(0);
      const res = JSON.parse(out.stdout) as { kid: string; previousKid: string; previousVerifiesUntil: string };
      expect(res.previousKid).toBe(before);
      expect(kidOf(await one.login())).toBe(res.kid);
      expect((await jwksOf(one)).keys.map((k) => k.kid)).toContain(before);
      const text = await run(["admin", "rotate-signing-key"]);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/^signing key \S+ signs from now on\n$/);
      expect(text.stderr).toContain(`the previous key ${res.kid} verifies the tokens it signed until`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe("signing keys in the embedded mode", { timeout: 120_000 }, () => {
  it("generates the KEK into the data directory (mode 0600) and imports the old key file once", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-embedded-keys-"));
    try {
      const pem = ed25519Pem();
      writeFileSync(join(dataDir, "jwt-ed25519.pem"), pem, { mode: 0o600 });
      const x = (createPublicKey(pem).export({ format: "jwk" }) as { x: string }).x;
      const env = { GATEHOUSE_DATABASE_URL: "", GATEHOUSE_KEK: "" };
      const server = await startTestServer({ redis: false, env, config: { dataDir } });
      let kek: string;
      let kid: string;
      try {
        kek = readFileSync(join(dataDir, "kek"), "utf8");
        expect(statSync(join(dataDir, "kek")).mode & 0o777).toBe(0o600);
        expect(Buffer.from(kek.trim(), "base64")).toHaveLength(32);
        expect((await jwksOf(server)).keys.map((k) => k.x)).toEqual([x]);
        kid = kidOf(await server.login("admin", adminPassword));
      } finally {
        await server.close();
      }
      // Again on the same data directory: the same KEK and the same ring.
      // (A damaged KEK file refuses the start in one line first.)
      writeFileSync(join(dataDir, "kek"), "damaged\n");
      const damaged = await startTestServer({ redis: false, env, config: { dataDir } }).then(
        async (s) => (await s.close(), undefined),
        (err: unknown) => err,
      );
      expect(damaged).toBeInstanceOf(StartupError);
      expect((damaged as Error).message).toContain(`${join(dataDir, "kek")}: expected 32`);
      writeFileSync(join(dataDir, "kek"), kek);
      const again = await startTestServer({ redis: false, env, config: { dataDir } });
      try {
        expect(readFileSync(join(dataDir, "kek"), "utf8")).toBe(kek);
        expect(kidOf(await again.login("admin", adminPassword))).toBe(kid);
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
