import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProcess } from "../support/server-process.js";
import { startReplicas, type Replica, type ReplicaSet } from "../support/replicas.js";

/**
 * Issue 23: a signing-key rotation made through one replica reaches every
 * replica within seconds (over the bus), nobody is logged out, and a
 * replica refuses to start on PostgreSQL without the KEK.
 */

const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;
const jwksKids = async (replica: Replica) =>
  ((await (await fetch(`${replica.baseUrl}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);

/** within polls `probe` until it answers true and answers the elapsed ms; fails after `limitMs`. */
async function within(limitMs: number, probe: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - started;
    if (performance.now() - started > limitMs) throw new Error(`not seen within ${limitMs} ms`);
    await sleep(20);
  }
}

describe("signing-key rotation across replicas", { timeout: 240_000 }, () => {
  let set: ReplicaSet;
  let r: Replica[];

  beforeAll(async () => {
    set = await startReplicas({ count: 2 });
    r = set.replicas;
  }, 180_000);
  afterAll(async () => {
    await set?.close();
  });

  it("a token signed before the rotation works on every replica, tokens after carry the new kid, JWKS shows both", async () => {
    const before = await r[0]!.login();
    const oldKid = kidOf(before);
    expect(kidOf(await r[1]!.login())).toBe(oldKid);

    const res = await r[0]!.client({ token: before }).admin.rotateSigningKey({});
    expect(res.previousKid).toBe(oldKid);
    // Every replica publishes both keys and signs with the new one within seconds, told over the bus.
    const published = await Promise.all(r.map((replica) => within(5_000, async () => (await jwksKids(replica)).join() === [res.kid, oldKid].join())));
    const signing = await Promise.all(r.map((replica) => within(5_000, async () => kidOf(await replica.login()) === res.kid)));
    console.log(`JWKS lists both keys after ${published.map((ms) => ms.toFixed(0)).join(", ")} ms; new tokens carry the new kid after ${signing.map((ms) => ms.toFixed(0)).join(", ")} ms`);

    for (const replica of r) {
      expect((await replica.client({ token: before }).auth.whoAmI({})).user?.username, replica.name).toBe("admin");
      const after = await replica.login();
      expect(kidOf(after)).toBe(res.kid);
      for (const other of r) expect((await other.client({ token: after }).auth.whoAmI({})).user?.username, `${replica.name} → ${other.name}`).toBe("admin");
    }

    // A replica started after the rotation signs with the new key and still verifies the old one.
    const late = await set.start();
    expect(kidOf(await late.login())).toBe(res.kid);
    expect((await late.client({ token: before }).auth.whoAmI({})).user?.username).toBe("admin");
    expect(await jwksKids(late)).toEqual([res.kid, oldKid]);
  });

  it("a replica refuses to start on PostgreSQL without GATEHOUSE_KEK, with one line saying what to set", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-nokek-"));
    try {
      const { GATEHOUSE_KEK: _kek, ...env } = set.env;
      const missing = startProcess("src/main.ts", { ...env, GATEHOUSE_PORT: "0", GATEHOUSE_HOST: "127.0.0.1", GATEHOUSE_DATA_DIR: dataDir });
      expect((await missing.exited).code).toBe(1);
      expect(missing.stderr()).toMatch(/^gatehouse: GATEHOUSE_KEK is required with GATEHOUSE_DATABASE_URL: set it to 32 random bytes in base64/m);
      expect(missing.stderr()).not.toMatch(/\n\s+at /);

      const malformed = startProcess("src/main.ts", { ...env, GATEHOUSE_KEK: "not-a-key", GATEHOUSE_PORT: "0", GATEHOUSE_DATA_DIR: dataDir });
      expect((await malformed.exited).code).toBe(2);
      expect(malformed.stderr()).toContain("GATEHOUSE_KEK: expected 32");
      expect(malformed.stderr()).not.toContain("not-a-key");
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
