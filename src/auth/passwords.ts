import { hash, verify } from "@node-rs/argon2";

// OWASP's argon2id baseline (m=19 MiB, t=2, p=1); @node-rs/argon2 runs off the main thread.
const options = { algorithm: 2 /* Argon2id */, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** hashPassword hashes a password with argon2id (PHC string). */
export function hashPassword(password: string): Promise<string> {
  return hash(password, options);
}

/** verifyPassword checks a password against an argon2id PHC string; false on any malformed hash. */
export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;

/**
 * burnPasswordCheck spends the time of one real verification, so that a
 * login for an unknown user answers as slowly as one with a wrong password.
 */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummy ??= hashPassword("gatehouse-timing-equalizer");
  await verifyPassword(await dummy, password);
}

/** minPasswordLength is the fewest characters a new password may have. */
export const minPasswordLength = 10;

/** maxPasswordLength is the most characters a new password may have (the proto's max_len too). */
export const maxPasswordLength = 1024;

/** passwordProblem answers why a new password is refused, or undefined. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < minPasswordLength) return `must be at least ${minPasswordLength} characters`;
  if (password.length > maxPasswordLength) return `must be at most ${maxPasswordLength} characters`;
  return undefined;
}
