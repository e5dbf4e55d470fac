import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

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
