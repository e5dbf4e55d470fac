import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** newSecret makes a 256-bit random secret, base64url. */
export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** hashSecret is the SHA-256 (hex) under which a high-entropy secret is stored. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** sameSecret compares a presented secret with a stored hash in constant time. */
export function sameSecret(presented: string, storedHash: string | null | undefined): boolean {
  if (!storedHash) return false;
  const a = Buffer.from(hashSecret(presented), "hex");
  const b = Buffer.from(storedHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

const uuid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const credentialPattern = new RegExp(`^(ghr|ghs)\\.(${uuid})\\.(${uuid})\\.([A-Za-z0-9_-]{43})$`);

/** SessionCredential is a parsed refresh token (`ghr`) or session cookie (`ghs`). */
export interface SessionCredential {
  kind: "ghr" | "ghs";
  tenantId: string;
  sessionId: string;
  secret: string;
}

/** formatCredential renders `<kind>.<tenant>.<session>.<secret>`. */
export function formatCredential(c: SessionCredential): string {
  return `${c.kind}.${c.tenantId}.${c.sessionId}.${c.secret}`;
}

/** parseCredential answers undefined for anything not exactly our shape. */
export function parseCredential(raw: string, kind: "ghr" | "ghs"): SessionCredential | undefined {
  const m = credentialPattern.exec(raw);
  if (!m || m[1] !== kind) return undefined;
  return { kind, tenantId: m[2]!, sessionId: m[3]!, secret: m[4]! };
}

/**
 * newMacSecret makes the 256-bit secret of a session cookie that the server
 * can recognise as its own without the database: 128 random bits followed by
 * 128 bits of HMAC-SHA256(key, `<kind>:<tenant>:<session>:<random>`), under
 * a key every replica derives from the shared KEK. The database
 * still holds only its hash and decides whether the session is alive.
 */
export function newMacSecret(key: Uint8Array, kind: SessionCredential["kind"], tenantId: string, sessionId: string): string {
  const nonce = randomBytes(16);
  return Buffer.concat([nonce, macOf(key, kind, tenantId, sessionId, nonce)]).toString("base64url");
}

/**
 * hasValidMac tells whether a parsed credential's secret carries the MAC of
 * newMacSecret under `key` (constant time). Credentials made before cookies
 * carried a MAC, and forged ones, answer false.
 */
export function hasValidMac(key: Uint8Array, cred: SessionCredential): boolean {
  const raw = Buffer.from(cred.secret, "base64url");
  if (raw.length !== 32) return false;
  return timingSafeEqual(raw.subarray(16), macOf(key, cred.kind, cred.tenantId, cred.sessionId, raw.subarray(0, 16)));
}

function macOf(key: Uint8Array, kind: string, tenantId: string, sessionId: string, nonce: Uint8Array): Buffer {
  return createHmac("sha256", key).update(`${kind}:${tenantId.toLowerCase()}:${sessionId.toLowerCase()}:`).update(nonce).digest().subarray(0, 16);
}
