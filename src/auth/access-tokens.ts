import { randomUUID } from "node:crypto";
import { SignJWT, jwtVerify, decodeProtectedHeader } from "jose";
import { isUuid } from "../domain/ids.js";
import type { SigningKey } from "./signing-keys.js";

/** TokenKeys is what tokens need of the signing-key ring: the key that signs, the key of a kid that verifies. */
export interface TokenKeys {
  signer(): SigningKey;
  verifier(kid: string): Promise<SigningKey | undefined>;
}

/** AccessClaims are the claims Gatehouse puts in an access token. */
export interface AccessClaims {
  sub: string;
  tid: string;
  lvl: number;
  sid: string;
  jti: string;
  exp: number;
}

/** AccessTokens issues and verifies EdDSA access tokens. */
export interface AccessTokens {
  issue(input: { userId: string; tenantId: string; level: number; sessionId: string }): Promise<{ token: string; expiresAt: Date }>;
  /** verify answers the claims, or undefined for any bad token (never throws). */
  verify(token: string): Promise<AccessClaims | undefined>;
}

/**
 * claimsOf answers the claims of a verified payload, or undefined when any
 * claim is malformed or the token outlives `ttlSeconds`: `sub`, `tid`, `sid`
 * must be UUIDs, `lvl` a small integer, `jti` a short string, `iat` and
 * `exp` integers with `exp` after `iat`, `exp − iat` at most the configured
 * lifetime and `iat` not in the future (beyond the leeway). A token signed
 * with the real key but issued for longer, or dated ahead, is refused.
 */
function claimsOf(payload: Record<string, unknown>, ttlSeconds: number, nowSeconds: number, leeway: number): AccessClaims | undefined {
  const { sub, tid, sid, jti, lvl, iat, exp } = payload;
  if (typeof sub !== "string" || !isUuid(sub)) return undefined;
  if (typeof tid !== "string" || !isUuid(tid)) return undefined;
  if (typeof sid !== "string" || !isUuid(sid)) return undefined;
  if (typeof jti !== "string" || jti === "" || jti.length > 128) return undefined;
  if (typeof lvl !== "number" || !Number.isInteger(lvl) || lvl < 0 || lvl > 100) return undefined;
  if (typeof iat !== "number" || !Number.isInteger(iat) || typeof exp !== "number" || !Number.isInteger(exp)) return undefined;
  if (exp <= iat || exp - iat > ttlSeconds || iat > nowSeconds + leeway) return undefined;
  return { sub: sub.toLowerCase(), tid: tid.toLowerCase(), lvl, sid: sid.toLowerCase(), jti, exp };
}

/**
 * createAccessTokens signs with the ring's newest Ed25519 key and verifies
 * with the key the token's `kid` names while the ring still lets it verify,
 * the algorithm pinned, `iss`, `aud` and `exp` (30 s leeway) checked, and
 * every claim's shape and the token's lifetime checked (claimsOf).
 * Verified tokens are cached until they expire: verification costs about as
 * much as a whole no-op call, and a token's signature never changes.
 * Revocation is checked separately, per call, by the session cache.
 */
export function createAccessTokens(keys: TokenKeys, opts: { issuer: string; audience: string; ttlSeconds: number; cacheSize?: number; now?: () => number }): AccessTokens {
  const now = opts.now ?? Date.now;
  const cacheSize = opts.cacheSize ?? 20_000;
  const cache = new Map<string, AccessClaims>();
  const leeway = 30;
  return {
    async issue({ userId, tenantId, level, sessionId }) {
      const iat = Math.floor(now() / 1000);
      const exp = iat + opts.ttlSeconds;
      const key = keys.signer();
      const token = await new SignJWT({ tid: tenantId, lvl: level, sid: sessionId })
        .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "JWT" })
        .setIssuer(opts.issuer)
        .setAudience(opts.audience)
        .setSubject(userId)
        .setJti(randomUUID())
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(key.privateKey);
      return { token, expiresAt: new Date(exp * 1000) };
    },
    async verify(token) {
      if (token.length > 4096) return undefined;
      const cached = cache.get(token);
      if (cached) {
        if (cached.exp + leeway > now() / 1000) return cached;
        cache.delete(token);
        return undefined;
      }
      try {
        const header = decodeProtectedHeader(token);
        if (typeof header.kid !== "string" || header.kid.length > 128) return undefined;
        const key = await keys.verifier(header.kid);
        if (!key) return undefined;
        const { payload } = await jwtVerify(token, key.publicKey, {
          algorithms: ["EdDSA"],
          issuer: opts.issuer,
          audience: opts.audience,
          clockTolerance: leeway,
          currentDate: new Date(now()),
          requiredClaims: ["sub", "exp", "iat", "jti"],
        });
        const claims = claimsOf(payload, opts.ttlSeconds, now() / 1000, leeway);
        if (!claims) return undefined;
        if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
        cache.set(token, claims);
        return claims;
      } catch {
        return undefined;
      }
    },
  };
}
