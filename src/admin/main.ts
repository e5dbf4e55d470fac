import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config.js";
import { DataDirLockedError } from "../store/data-dir-lock.js";
import { resetPassword, ResetPasswordError } from "./reset-password.js";

// The offline admin commands (`npm run admin -- <command>`), with the server
// stopped. The logic lives in modules (reset-password.ts); this is the thin entry.

const usage = `usage: npm run admin -- reset-password --user <name> [--tenant <name>] [--password-stdin]

reset-password  sets a new password for a user, against GATEHOUSE_DATABASE_URL or
                the embedded data directory (GATEHOUSE_DATA_DIR, default ./.gatehouse),
                which must not be in use by a running server. The user's sessions end;
                the reset is audited. The new password is read from stdin with
                --password-stdin, else from GATEHOUSE_RESET_PASSWORD, else generated
                and printed.
`;

function fail(message: string, code: number): never {
  process.stderr.write(`gatehouse admin: ${message}\n`);
  process.exit(code);
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        user: { type: "string" },
        tenant: { type: "string" },
        "password-stdin": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    fail(`${(err as Error).message}\n${usage}`, 2);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage);
    return;
  }
  if (positionals[0] !== "reset-password" || positionals.length !== 1) fail(`unknown or missing command\n${usage}`, 2);
  if (!values.user) fail(`--user is required\n${usage}`, 2);

  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
  let password: string | undefined;
  if (values["password-stdin"]) {
    password = readFileSync(0, "utf8").split(/\r?\n/)[0] ?? "";
  } else if (process.env.GATEHOUSE_RESET_PASSWORD) {
    password = process.env.GATEHOUSE_RESET_PASSWORD;
  }
  try {
    const result = await resetPassword({
      config,
      username: values.user,
      tenant: values.tenant,
      password,
      logger: { debug: () => undefined, info: () => undefined, warn: (m) => process.stderr.write(`${m}\n`) },
    });
    const who = `user ${JSON.stringify(values.user)} of tenant ${JSON.stringify(values.tenant ?? "default")}`;
    process.stdout.write(`Password of ${who} reset; ${result.sessionsRevoked} session(s) ended; audited.\n`);
    if (result.generated) process.stdout.write(`New password: ${result.password}\n`);
  } catch (err) {
    if (err instanceof ResetPasswordError || err instanceof DataDirLockedError) fail(err.message, 1);
    throw err;
  }
}

await main(process.argv.slice(2));
