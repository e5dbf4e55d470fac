import { newEd25519Key, sealedKeyOf, type SigningKeyRing } from "../../auth/signing-keys.js";
import type { Kek } from "../../auth/kek.js";
import type { SigningKeyStore } from "../../store/signing-keys.js";
import { outcome, type Call, type Outcome } from "../call.js";

/** RotateSigningKeyDeps are what a rotation needs: the store, the KEK that seals the new key, the ring to tell. */
export interface RotateSigningKeyDeps {
  signingKeyStore: SigningKeyStore;
  kek: Kek;
  signingKeys: Pick<SigningKeyRing, "announce" | "retiredVerifiesUntil">;
}

/** RotatedSigningKey says which key signs now and until when the one it replaced verifies. */
export interface RotatedSigningKey {
  kid: string;
  previousKid: string;
  previousVerifiesUntil: Date;
}

/**
 * rotateSigningKey adds a fresh Ed25519 key to the ring, sealed under the
 * KEK, in the call's transaction (the platform tenant's: only SUPERGOD may
 * call it), so the key and the call's audit record commit together. Once
 * committed, every replica is told on the bus and reloads its ring; the
 * keys it replaced keep verifying the tokens they signed.
 */
export async function rotateSigningKey(deps: RotateSigningKeyDeps, call: Call): Promise<Outcome<RotatedSigningKey>> {
  const fresh = await sealedKeyOf(newEd25519Key(), deps.kek, "rotated");
  const { previousKid, added } = await call.inTx(async (tx) => {
    await deps.signingKeyStore.serialize(tx);
    const before = await deps.signingKeyStore.list(tx);
    const added = await deps.signingKeyStore.add(tx, fresh);
    return { previousKid: before.at(-1)?.kid ?? "", added };
  });
  call.afterCommit(() => deps.signingKeys.announce(added.kid));
  const previousVerifiesUntil = deps.signingKeys.retiredVerifiesUntil(added.createdAt);
  return outcome(
    { kid: added.kid, previousKid, previousVerifiesUntil },
    { resource: `signing-key:${added.kid}`, details: { kid: added.kid, previousKid, previousVerifiesUntil: previousVerifiesUntil.toISOString() } },
  );
}
