import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Deps } from "./deps.js";
import { hashPassword, verifyPassword } from "./auth/passwords.js";
import { defaultTenantName } from "./domain/names.js";
import { ormTenantStore as tenants } from "./store/tenants.js";

/** defaultTenantName lives in domain/names.ts; re-exported for the callers that still import it from here. */
export { defaultTenantName } from "./domain/names.js";

/** INITIAL_PASSWORD_FILE is the file in the data directory that keeps the generated first admin password (embedded mode). */
export const INITIAL_PASSWORD_FILE = "initial-admin-password";

/** initialPasswordPath answers where the generated first admin password is kept. */
export function initialPasswordPath(dataDir: string): string {
  return join(dataDir, INITIAL_PASSWORD_FILE);
}

/**
 * bootstrap creates tenant `default` and SUPERGOD `admin` on first start.
 * The password comes from GATEHOUSE_ADMIN_PASSWORD, else it is generated and
 * handed to `print` once — never logged. In the embedded mode a generated
 * password is also written to `initial-admin-password` in the data
 * directory (mode 0600), so a lost terminal does not lose it. Answers
 * whether it created them.
 */
export async function bootstrap(deps: Deps, print: (line: string) => void): Promise<boolean> {
  const exists = async () => (await deps.db.asSystem((tx) => tenants.findIdByName(tx, defaultTenantName))) !== undefined;
  if (await exists()) return false;
  const generated = deps.config.adminPassword === undefined;
  const password = deps.config.adminPassword ?? randomBytes(18).toString("base64url");
  const passwordHash = await hashPassword(password);
  try {
    await deps.db.asSystem((tx) =>
      tenants.provision(tx, { name: defaultTenantName, adminUsername: "admin", adminPasswordHash: passwordHash, adminLevel: 5, adminRole: "superuser" }),
    );
  } catch (err) {
    // Another replica bootstrapped at the same moment: fine.
    if (await exists()) return false;
    throw err;
  }
  deps.logger.info({ tenant: defaultTenantName, username: "admin" }, "created the default tenant and its SUPERGOD admin");
  if (generated) {
    print(`Gatehouse first start: tenant "default", user "admin", password: ${password}`);
    if (deps.config.databaseUrl === undefined) {
      const file = initialPasswordPath(deps.config.dataDir);
      writeFileSync(file, password + "\n", { mode: 0o600 });
      chmodSync(file, 0o600);
      print(`It is also kept in ${file} (readable by you only) until you change it.`);
    } else {
      print("This password is shown once. Set GATEHOUSE_ADMIN_PASSWORD to choose it instead.");
    }
  }
  return true;
}

/**
 * offerInitialPassword looks at `initial-admin-password` in the data
 * directory: while the password in it still opens tenant `default`'s
 * `admin`, `print` is told where it is; once it does not (changed, reset,
 * user gone), the file is removed.
 */
export async function offerInitialPassword(deps: Deps, print: (line: string) => void): Promise<void> {
  const file = initialPasswordPath(deps.config.dataDir);
  let password: string;
  try {
    password = readFileSync(file, "utf8").trim();
  } catch {
    return;
  }
  const hash = await deps.db.asSystem((tx) => tenants.passwordHashOf(tx, defaultTenantName, "admin"));
  if (hash && password !== "" && (await verifyPassword(hash, password))) {
    print(`The admin password of tenant "default" is in ${file} (removed at the first start after it is changed).`);
    return;
  }
  unlinkSync(file);
  deps.logger.info({ file }, "removed the initial admin password file: the password in it no longer opens the admin account");
}
