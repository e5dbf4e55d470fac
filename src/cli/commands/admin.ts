import type { Command } from "commander";
import { ExitCode } from "../exit-codes.js";
import { readPassword } from "../lookup.js";
import { CliError } from "../output.js";
import type { Session } from "../session.js";

type Open = (cmd: Command) => Session;

/**
 * offlineResetPassword is the offline recovery (server stopped): it sets a
 * user's password straight in the database named by the server's own
 * configuration (GATEHOUSE_DATABASE_URL / GATEHOUSE_DATA_DIR).
 *
 * MERGE POINT: the recovery itself is `src/admin/reset-password.ts`, written on
 * another branch. Until it is merged this adapter loads it by a computed path
 * (so this branch type-checks without it) and says so when it is missing;
 * at merge, replace the body with a static import of that function and call
 * it with these arguments.
 */
async function offlineResetPassword(args: { tenant: string; username: string; password: string }): Promise<void> {
  const path = ["..", "..", "admin", "reset-password.js"].join("/");
  let mod: Record<string, unknown>;
  try {
    mod = (await import(path)) as Record<string, unknown>;
  } catch {
    throw new CliError("offline password reset is not in this build (src/admin/reset-password.ts is missing)", ExitCode.failure);
  }
  const fn = mod.resetPassword;
  if (typeof fn !== "function") throw new CliError("src/admin/reset-password.ts exports no resetPassword function", ExitCode.failure);
  const { loadConfig } = await import("../../config.js");
  await (fn as (a: unknown) => Promise<void>)({ config: loadConfig(process.env), ...args });
}

/** registerAdmin adds admin reset-password. */
export function registerAdmin(program: Command, open: Open): void {
  const admin = program.command("admin").description("operator commands that work on the server's data directly");
  admin
    .command("reset-password <username>")
    .description("set a user's password with the server stopped (uses the server's GATEHOUSE_* configuration)")
    .option("--tenant <name>", "the user's tenant", "default")
    .option("--password-stdin", "read the new password from standard input")
    .action(async (username: string, opts: { tenant: string; passwordStdin?: boolean }, cmd: Command) => {
      const s = open(cmd);
      const password = await readPassword(opts.passwordStdin === true, `New password for ${username}: `);
      await offlineResetPassword({ tenant: opts.tenant, username, password });
      s.out.note(`password of ${username} (tenant ${opts.tenant}) reset; the user's sessions should be considered ended`);
    });
}
