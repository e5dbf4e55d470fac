import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** kekBytes is the length of a key-encryption key: AES-256. */
export const kekBytes = 32;

/** kekFileName is the KEK's file in the embedded mode's data directory. */
export const kekFileName = "kek";

/** sealedPrefix starts every sealed value: the format version, so a later format can be told apart. */
const sealedPrefix = "ghk1";

/**
 * Kek is the key-encryption key that seals secrets stored in the database
 * (signing keys today). A sealed value is
 * `ghk1.<kek id>.<base64url(iv ‖ ciphertext ‖ tag)>`, AES-256-GCM with the
 * value's context (e.g. `signing-key:<kid>`) as additional data, so a sealed
 * value cannot be moved to another row. The KEK id is a fingerprint of the
 * key (not the key): a later rotation can tell which KEK sealed a value and
 * re-wrap it.
 */
export interface Kek {
  /** id is the KEK's fingerprint: 16 hex digits of SHA-256 over an HKDF of the key. */
  readonly id: string;
  /** seal encrypts `plaintext` bound to `context`. */
  seal(plaintext: Uint8Array, context: string): string;
  /** open decrypts a sealed value made for `context`; throws KekError when it is not ours, tampered or malformed. */
  open(sealed: string, context: string): Buffer;
  /** deriveKey derives a 256-bit key for `purpose` (HKDF-SHA256): replicas share the KEK, so they derive the same key. */
  deriveKey(purpose: string): Buffer;
}

/** KekError says a sealed value cannot be opened with this KEK. */
export class KekError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KekError";
  }
}

/**
 * kekProblem answers why `raw` is not a KEK (32 bytes in base64 or
 * base64url), or undefined when it is one.
 */
export function kekProblem(raw: string): string | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(raw.trim())) return "expected 32 random bytes in base64 (openssl rand -base64 32)";
  const bytes = Buffer.from(raw.trim(), "base64");
  if (bytes.length !== kekBytes) return `expected 32 bytes in base64, got ${bytes.length} bytes (openssl rand -base64 32)`;
  return undefined;
}

/** createKek makes a Kek of 32 key bytes. */
export function createKek(key: Uint8Array): Kek {
  if (key.length !== kekBytes) throw new Error(`a KEK has ${kekBytes} bytes`);
  const secret = Buffer.from(key);
  const id = createHash("sha256").update(Buffer.from(hkdfSync("sha256", secret, "gatehouse", "kek id", 32))).digest("hex").slice(0, 16);
  return {
    id,
    seal(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", secret, iv);
      cipher.setAAD(Buffer.from(context, "utf8"));
      const body = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      return `${sealedPrefix}.${id}.${body.toString("base64url")}`;
    },
    open(sealed, context) {
      const [prefix, kekId, body, ...rest] = sealed.split(".");
      if (prefix !== sealedPrefix || kekId === undefined || body === undefined || rest.length > 0) throw new KekError("not a sealed value");
      if (kekId !== id) throw new KekError(`sealed under another KEK (id ${kekId}; this KEK is ${id})`);
      const raw = Buffer.from(body, "base64url");
      if (raw.length < 12 + 16) throw new KekError("sealed value too short");
      const decipher = createDecipheriv("aes-256-gcm", secret, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      try {
        return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
      } catch {
        throw new KekError("sealed value does not authenticate (tampered, or another context)");
      }
    },
    deriveKey(purpose) {
      return Buffer.from(hkdfSync("sha256", secret, "gatehouse", purpose, 32));
    },
  };
}

/** KekSource says where the KEK came from, for the start-up log (never the key). */
export type KekSource = "environment" | "data directory" | "generated";

/**
 * loadKek answers the KEK: `GATEHOUSE_KEK` when set; else, in the embedded
 * mode, `<dataDir>/kek`, generated on first start (mode 0600). Undefined in
 * PostgreSQL mode without `GATEHOUSE_KEK`: the caller refuses to start
 * (replicas must share one KEK, and a generated one would exist on one
 * machine only).
 */
export function loadKek(configured: string | undefined, options: { dataDir: string; embedded: boolean }): { kek: Kek; source: KekSource } | undefined {
  if (configured !== undefined) return { kek: createKek(Buffer.from(configured.trim(), "base64")), source: "environment" };
  if (!options.embedded) return undefined;
  const file = join(options.dataDir, kekFileName);
  const read = () => {
    const text = readFileSync(file, "utf8").trim();
    const problem = kekProblem(text);
    if (problem) throw new KekError(`${file}: ${problem}`);
    return { kek: createKek(Buffer.from(text, "base64")), source: "data directory" as const };
  };
  if (existsSync(file)) return read();
  mkdirSync(options.dataDir, { recursive: true });
  const key = randomBytes(kekBytes);
  try {
    writeFileSync(file, key.toString("base64") + "\n", { mode: 0o600, flag: "wx" });
  } catch (err) {
    // Another process made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return read();
    throw err;
  }
  return { kek: createKek(key), source: "generated" };
}
