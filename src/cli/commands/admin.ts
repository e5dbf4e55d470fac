import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { RotateSigningKeyResponseSchema } from "../client.js";
import { ExitCode } from "../exit-codes.js";
import { readPassword } from "../lookup.js";
import { CliError } from "../output.js";
import type { Session } from "../session.js";

type Open = (cmd: Command) => Session;

/** adminEntry finds src/admin/main.ts from this file, run as TypeScript or from the dist/cli bundle. */
function adminEntry(): string {
  for (const rel of ["../../admin/main.ts", "../../src/admin/main.ts"]) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new CliError("offline password reset needs the server's source (src/admin/main.ts) beside the CLI", ExitCode.failure);
}

/**
 * offlineResetPassword is the offline recovery (server stopped): it runs the
 * server's own `npm run admin -- reset-password` entry (src/admin/main.ts) in
 * a child process, which opens the database named by the server's
 * configuration (GATEHOUSE_DATABASE_URL / GATEHOUSE_DATA_DIR), refuses while a
 * server holds the data directory, ends the user's sessions and audits the
 * reset. A child process keeps the database layer out of every other command.
 */
async function offlineResetPassword(args: { tenant: string; username: string; password: string }): Promise<void> {
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), adminEntry(), "reset-password", "--user", args.username, "--tenant", args.tenant, "--password-stdin"], {
    stdio: ["pipe", "inherit", "inherit"],
  });
  child.stdin.end(`${args.password}\n`);
  const code = await new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (exit) => resolve(exit ?? 1));
  });
  if (code !== 0) throw new CliError("password reset refused (see the message above)", ExitCode.failure);
}

/** registerAdmin adds admin reset-password (offline) and rotate-signing-key (through the API). */
export function registerAdmin(program: Command, open: Open): void {
  const admin = program.command("admin").description("platform operator commands: key rotation through the API, offline recovery on the server's data");
  admin
    .command("rotate-signing-key")
    .description("make a new key sign access tokens (SUPERGOD); tokens of the old key keep working until they expire")
    .action(async (_opts: object, cmd: Command) => {
      const s = open(cmd);
      const res = await s.client().admin.rotateSigningKey({});
      if (s.out.json) return s.out.data(s.out.message(RotateSigningKeyResponseSchema, res));
      const until = res.previousVerifiesUntil ? timestampDate(res.previousVerifiesUntil).toISOString() : "";
      s.out.line(`signing key ${res.kid} signs from now on`);
      s.out.note(`the previous key ${res.previousKid} verifies the tokens it signed until ${until}`);
    });
  admin
    .command("reset-password <username>")
    .description("set a user's password with the server stopped (uses the server's GATEHOUSE_* configuration)")
    .option("--tenant <name>", "the user's tenant", "default")
    .option("--password-stdin", "read the new password from standard input")
    .action(async (username: string, opts: { tenant: string; passwordStdin?: boolean }, cmd: Command) => {
      const s = open(cmd);
      const password = await readPassword(opts.passwordStdin === true, `New password for ${username}: `);
      await offlineResetPassword({ tenant: opts.tenant, username, password });
      s.out.note(`password of ${username} (tenant ${opts.tenant}) reset; the user's sessions have ended`);
    });
}
