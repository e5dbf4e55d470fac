import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { calculateJwkThumbprint, exportJWK, type JWK } from "jose";
import type { Logger } from "../logger.js";
import type { Bus } from "../shared-state/bus.js";
import type { Database } from "../store/database.js";
import type { NewSigningKey, SigningKeyOrigin, SigningKeyRow, SigningKeyStore } from "../store/signing-keys.js";
import type { Kek } from "./kek.js";

/** SigningKey is an Ed25519 key of the ring, with its `kid`. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JWK;
  /** generation orders the ring: the highest signs. */
  generation: number;
  createdAt: Date;
}

/** signingKeysChannel is the bus channel a rotation is announced on (message: the new kid). */
export const signingKeysChannel = "signing-keys";

/** keyFileName is the embedded mode's key file before keys lived in the database (imported once). */
export const keyFileName = "jwt-ed25519.pem";

/** SigningKeyError is a signing key that cannot be used: not Ed25519, or sealed under another KEK. */
export class SigningKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SigningKeyError";
  }
}

/** sealContext binds a sealed private key to its row (AES-GCM additional data). */
export function sealContext(kid: string): string {
  return `signing-key:${kid}`;
}

/** publicPartsOf answers the `kid` (RFC 7638 thumbprint) and public JWK of an Ed25519 private key. */
async function publicPartsOf(privateKey: KeyObject): Promise<{ kid: string; publicKey: KeyObject; publicJwk: JWK }> {
  if (privateKey.asymmetricKeyType !== "ed25519") throw new SigningKeyError("a signing key must be an Ed25519 private key (PKCS#8 PEM)");
  const publicKey = createPublicKey(privateKey);
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, publicKey, publicJwk: { ...jwk, kid, alg: "EdDSA", use: "sig" } };
}

/** sealedKeyOf makes the row of a new key: its public JWK plain, its PKCS#8 form sealed under the KEK. */
export async function sealedKeyOf(privateKey: KeyObject, kek: Kek, origin: SigningKeyOrigin): Promise<NewSigningKey> {
  const { kid, publicJwk } = await publicPartsOf(privateKey);
  const der = privateKey.export({ type: "pkcs8", format: "der" });
  return { kid, algorithm: "EdDSA", publicJwk: { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x }, sealedPrivateKey: kek.seal(der, sealContext(kid)), origin };
}

/** newEd25519Key generates a fresh Ed25519 private key. */
export function newEd25519Key(): KeyObject {
  return generateKeyPairSync("ed25519").privateKey;
}

/** openRow unseals a stored key and checks that it is the key its kid names. */
async function openRow(row: SigningKeyRow, kek: Kek): Promise<SigningKey> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: kek.open(row.sealedPrivateKey, sealContext(row.kid)), format: "der", type: "pkcs8" });
  } catch (err) {
    throw new SigningKeyError(`signing key ${row.kid} cannot be opened with this GATEHOUSE_KEK (${(err as Error).message}): start with the KEK it was sealed under`, { cause: err });
  }
  const parts = await publicPartsOf(privateKey);
  if (parts.kid !== row.kid) throw new SigningKeyError(`signing key ${row.kid} holds another key (${parts.kid})`);
  return { ...parts, privateKey, generation: row.generation, createdAt: row.createdAt };
}

/**
 * ensureFirstKey gives an empty ring its first key, once, under the ring's
 * change lock (replicas starting together import one key): the configured
 * `GATEHOUSE_JWT_PRIVATE_KEY`, else the embedded mode's old key file
 * `<dataDir>/jwt-ed25519.pem`, else a fresh key. Tokens signed before the
 * upgrade keep verifying. A configured key the ring does not hold once the
 * ring has keys is ignored, with a warning: keys change by rotation now.
 */
export async function ensureFirstKey(input: {
  db: Database;
  store: SigningKeyStore;
  kek: Kek;
  configuredPem: string | undefined;
  dataDir: string;
  logger: Logger;
}): Promise<void> {
  const { db, store, kek, logger } = input;
  const file = join(input.dataDir, keyFileName);
  const existing = input.configuredPem ?? (existsSync(file) ? readFileSync(file, "utf8") : undefined);
  const source = input.configuredPem !== undefined ? "GATEHOUSE_JWT_PRIVATE_KEY" : file;
  let imported: KeyObject | undefined;
  try {
    imported = existing === undefined ? undefined : createPrivateKey(existing.replace(/\\n/g, "\n"));
  } catch (err) {
    throw new SigningKeyError(`${source} is not a private key in PEM (${(err as Error).message})`, { cause: err });
  }
  const candidate = imported ? await sealedKeyOf(imported, kek, "imported") : undefined;
  await db.asSystem(async (tx) => {
    await store.serialize(tx);
    const rows = await store.list(tx);
    if (rows.length > 0) {
      if (candidate && input.configuredPem !== undefined && !rows.some((r) => r.kid === candidate.kid)) {
        logger.warn({ kid: candidate.kid }, "GATEHOUSE_JWT_PRIVATE_KEY is not in the signing-key ring and is ignored: keys live in the database and change by `gatehouse admin rotate-signing-key`");
      }
      return;
    }
    const first = candidate ?? (await sealedKeyOf(newEd25519Key(), kek, "generated"));
    await store.add(tx, first);
    logger.info({ kid: first.kid, origin: first.origin, from: candidate ? source : undefined }, "signing-key ring started with its first key");
  });
}

/** SigningKeyRing is every replica's view of the signing keys: the newest signs, older ones verify for a while. */
export interface SigningKeyRing {
  /** signer answers the key that signs now (the newest generation). */
  signer(): SigningKey;
  /**
   * verifier answers the key that verifies tokens of `kid`, or undefined
   * when there is none or it has stopped verifying. An unknown kid reloads
   * the ring first (at most once a second): a token of a key another
   * replica just rotated in verifies here at once.
   */
  verifier(kid: string): Promise<SigningKey | undefined>;
  /** verifying answers the keys that verify now, newest first (the JWKS). */
  verifying(): SigningKey[];
  /** jwks answers the public keys of verifying(), as a JSON Web Key Set. */
  jwks(): { keys: JWK[] };
  /** reload reads the ring from the database again. */
  reload(): Promise<void>;
  /** retiredVerifiesUntil answers when a key stops verifying once a successor created at `successorCreatedAt` took over. */
  retiredVerifiesUntil(successorCreatedAt: Date): Date;
  /** announce tells every replica (this one included) that the ring changed. */
  announce(kid: string): Promise<void>;
  close(): void;
}

/** SigningKeyRingOptions configure openSigningKeyRing. */
export interface SigningKeyRingOptions {
  db: Database;
  store: SigningKeyStore;
  kek: Kek;
  bus: Bus;
  logger: Logger;
  /** tokenTtlSeconds is the longest access-token lifetime (GATEHOUSE_ACCESS_TOKEN_TTL_SECONDS). */
  tokenTtlSeconds: number;
  /** reloadIntervalMs is the backstop reload period when a bus message is lost (default 10 s). */
  reloadIntervalMs?: number;
  now?: () => number;
}

/** retiredKeyMarginSeconds covers clock skew (the verifier's 30 s leeway) and slow replicas beyond the reload period. */
const retiredKeyMarginSeconds = 60;

/**
 * openSigningKeyRing loads the ring (every key unsealed once and kept in
 * memory), then keeps it current: a reload on every bus announcement, and a
 * periodic one as a backstop. A key stops verifying once every token it can
 * have signed has expired: when its successor was created, plus the token
 * lifetime, plus the reload period (a replica that had not yet heard of the
 * rotation kept signing with it), plus a margin.
 */
export async function openSigningKeyRing(options: SigningKeyRingOptions): Promise<SigningKeyRing> {
  const { db, store, kek, bus, logger } = options;
  const now = options.now ?? Date.now;
  const reloadIntervalMs = options.reloadIntervalMs ?? 10_000;
  const retiredLifetimeMs = (options.tokenTtlSeconds + retiredKeyMarginSeconds) * 1000 + reloadIntervalMs;
  const opened = new Map<string, SigningKey>();
  // Ordered oldest first; each key's end of verification (undefined: the signer).
  let ring: Array<{ key: SigningKey; verifiesUntil: number | undefined }> = [];

  const load = async () => {
    const rows = await db.asSystem((tx) => store.list(tx), { readOnly: true });
    if (rows.length === 0) throw new SigningKeyError("the signing-key ring is empty");
    const next: typeof ring = [];
    for (const [i, row] of rows.entries()) {
      let key = opened.get(row.kid);
      if (!key) {
        key = await openRow(row, kek);
        opened.set(row.kid, key);
      }
      const successor = rows[i + 1];
      next.push({ key, verifiesUntil: successor ? successor.createdAt.getTime() + retiredLifetimeMs : undefined });
    }
    const before = ring.at(-1)?.key.kid;
    ring = next;
    const signer = ring.at(-1)!.key.kid;
    if (before !== undefined && before !== signer) logger.info({ kid: signer, previous: before }, "signing key rotated: the new key signs from now on");
  };
  await load();

  let inFlight: Promise<void> | undefined;
  let lastReload = now();
  const reload = () =>
    (inFlight ??= load()
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, "signing-key ring reload failed; the previous ring stays in use"))
      .finally(() => {
        inFlight = undefined;
        lastReload = now();
      }));
  const unsubscribe = bus.subscribe(signingKeysChannel, () => void reload());
  const timer = setInterval(() => void reload(), reloadIntervalMs);
  timer.unref();

  const verifying = () => ring.filter((e) => e.verifiesUntil === undefined || e.verifiesUntil > now()).map((e) => e.key).reverse();
  const find = (kid: string) => verifying().find((k) => k.kid === kid);
  return {
    signer: () => ring.at(-1)!.key,
    async verifier(kid) {
      const found = find(kid);
      if (found || ring.some((e) => e.key.kid === kid)) return found;
      // At most one reload a second for unknown kids: a caller inside that second
      // waits for the next one instead of being refused a key another replica just made.
      const wait = lastReload + 1000 - now();
      if (wait > 0 && !inFlight) await new Promise((resolve) => setTimeout(resolve, wait));
      await reload();
      return find(kid);
    },
    verifying,
    jwks: () => ({ keys: verifying().map((k) => k.publicJwk) }),
    retiredVerifiesUntil: (successorCreatedAt) => new Date(successorCreatedAt.getTime() + retiredLifetimeMs),
    reload,
    async announce(kid) {
      await bus.publish(signingKeysChannel, kid);
    },
    close() {
      clearInterval(timer);
      unsubscribe();
    },
  };
}
