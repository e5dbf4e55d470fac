import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { createKek } from "../../src/auth/kek.js";
import { newEd25519Key, sealedKeyOf } from "../../src/auth/signing-keys.js";
import { ormSigningKeyStore as store } from "../../src/store/signing-keys.js";
import { describeStoreOnEngines } from "../support/store-engines.js";

const kek = createKek(randomBytes(32));

describeStoreOnEngines("signing-key store", (db) => {
  let platform = "";
  let other = "";

  it("adds keys in generation order, the newest unretired and the older ones dated", async () => {
    const tenants = (await db().asSystem((tx) => tx.execute("insert into tenants (name) values ('default'), ('other') returning id, name"))) as Array<{ id: string; name: string }>;
    platform = tenants.find((t) => t.name === "default")!.id;
    other = tenants.find((t) => t.name === "other")!.id;
    const first = await sealedKeyOf(newEd25519Key(), kek, "generated");
    const second = await sealedKeyOf(newEd25519Key(), kek, "rotated");
    await db().asSystem(async (tx) => {
      await store.serialize(tx);
      expect(await store.list(tx)).toEqual([]);
      const added = await store.add(tx, first);
      expect(added).toMatchObject({ kid: first.kid, origin: "generated", retiredAt: null, sealedPrivateKey: first.sealedPrivateKey });
    });
    // Written in a platform-tenant transaction, as RotateSigningKey's unit of work does.
    const added = await db().inTenant(platform, (tx) => store.add(tx, second));
    const rows = await db().asSystem((tx) => store.list(tx));
    expect(rows.map((r) => [r.kid, r.origin, r.retiredAt === null])).toEqual([
      [first.kid, "generated", false],
      [second.kid, "rotated", true],
    ]);
    expect(rows[1]!.generation).toBeGreaterThan(rows[0]!.generation);
    expect(added.generation).toBe(rows[1]!.generation);
    expect(rows[1]!.publicJwk).toEqual(second.publicJwk);
  });

  it("is walled: another tenant's transaction sees no key and adds none; nobody but the system deletes", async () => {
    expect(await db().inTenant(other, (tx) => store.list(tx))).toEqual([]);
    const intruder = await sealedKeyOf(newEd25519Key(), kek, "rotated");
    await expect(db().inTenant(other, (tx) => store.add(tx, intruder))).rejects.toThrow();
    expect(await db().inTenant(platform, (tx) => store.list(tx))).toHaveLength(2);
    await expect(db().inTenant(platform, (tx) => tx.execute("delete from signing_keys"))).rejects.toThrow(/not accessible/);
    expect(await db().asSystem((tx) => store.list(tx))).toHaveLength(2);
  });
});
