import { createPrivateKey, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Level } from "../../../gen/gatehouse/v1/common_pb.js";
import { rotateSigningKey } from "../../../src/app/admin/rotate-signing-key.js";
import { createKek } from "../../../src/auth/kek.js";
import { newEd25519Key, sealContext, sealedKeyOf } from "../../../src/auth/signing-keys.js";
import { testCall } from "../../support/app-call.js";
import { memorySigningKeyStore } from "../../support/memory-stores/signing-keys.js";

describe("rotateSigningKey", () => {
  const kek = createKek(randomBytes(32));
  const setup = async () => {
    const store = memorySigningKeyStore();
    await store.add(undefined as never, await sealedKeyOf(newEd25519Key(), kek, "generated"));
    const announced: string[] = [];
    const signingKeys = {
      announce: async (kid: string) => void announced.push(kid),
      retiredVerifiesUntil: (at: Date) => new Date(at.getTime() + 1_000_000),
    };
    return { store, announced, deps: { signingKeyStore: store, kek, signingKeys } };
  };

  it("adds a sealed key, retires the previous one, and tells the replicas only once committed", async () => {
    const { store, announced, deps } = await setup();
    const previous = store.rows[0]!.kid;
    const call = testCall({ level: Level.SUPERGOD, username: "root" });
    const done = await rotateSigningKey(deps, call);
    expect(done.value.previousKid).toBe(previous);
    expect(done.value.kid).not.toBe(previous);
    expect(done.value.previousVerifiesUntil.getTime()).toBe(store.rows[1]!.createdAt.getTime() + 1_000_000);
    expect(store.rows.map((r) => [r.kid, r.origin, r.retiredAt === null])).toEqual([
      [previous, "generated", false],
      [done.value.kid, "rotated", true],
    ]);
    // Sealed under the KEK for its own row; the private key opens to an Ed25519 key.
    const row = store.rows[1]!;
    expect(row.sealedPrivateKey.startsWith(`ghk1.${kek.id}.`)).toBe(true);
    expect(createPrivateKey({ key: kek.open(row.sealedPrivateKey, sealContext(row.kid)), format: "der", type: "pkcs8" }).asymmetricKeyType).toBe("ed25519");
    // The audit facts name both keys; the action is the method's default.
    expect(done.audit).toEqual({
      resource: `signing-key:${done.value.kid}`,
      details: { kid: done.value.kid, previousKid: previous, previousVerifiesUntil: done.value.previousVerifiesUntil.toISOString() },
    });
    expect(announced).toEqual([]);
    await call.commit();
    expect(announced).toEqual([done.value.kid]);
  });

  it("makes a different key each time", async () => {
    const { store, deps } = await setup();
    const a = await rotateSigningKey(deps, testCall({ level: Level.SUPERGOD }));
    const b = await rotateSigningKey(deps, testCall({ level: Level.SUPERGOD }));
    expect(b.value.previousKid).toBe(a.value.kid);
    expect(new Set(store.rows.map((r) => r.kid)).size).toBe(3);
    expect(store.rows.filter((r) => r.retiredAt === null)).toHaveLength(1);
  });
});
