import { generateKeyPairSync, createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { calculateJwkThumbprint, exportJWK, type JWK } from "jose";

/** SigningKey is the Ed25519 key that signs access tokens, with its `kid`. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JWK;
}

/**
 * loadSigningKey takes the key from configuration (PKCS#8 PEM) or, in the
 * embedded default, from `<dataDir>/jwt-ed25519.pem`, generating it on first
 * start (file mode 0600). The `kid` is the key's RFC 7638 thumbprint.
 */
export async function loadSigningKey(configuredPem: string | undefined, dataDir: string): Promise<SigningKey> {
  let pem = configuredPem;
  if (!pem) {
    const file = join(dataDir, "jwt-ed25519.pem");
    if (existsSync(file)) {
      pem = readFileSync(file, "utf8");
    } else {
      mkdirSync(dataDir, { recursive: true });
      pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
      writeFileSync(file, pem, { mode: 0o600, flag: "wx" });
    }
  }
  const privateKey = createPrivateKey(pem.replace(/\\n/g, "\n"));
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw new Error("GATEHOUSE_JWT_PRIVATE_KEY must be an Ed25519 private key (PKCS#8 PEM)");
  }
  const publicKey = createPublicKey(privateKey);
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateKey, publicKey, publicJwk: { ...jwk, kid, alg: "EdDSA", use: "sig" } };
}

/**
 * deriveSecretKey derives a 256-bit key for `purpose` from the signing key
 * (HKDF-SHA256 over its PKCS#8 form): replicas share the signing key, so
 * they derive the same key, and replacing the signing key replaces it too.
 */
export function deriveSecretKey(key: SigningKey, purpose: string): Buffer {
  const ikm = key.privateKey.export({ type: "pkcs8", format: "der" });
  return Buffer.from(hkdfSync("sha256", ikm, "gatehouse", purpose, 32));
}
