import { Command, CommanderError } from "commander";
import { registerAdmin } from "./commands/admin.js";
import { registerAudit } from "./commands/audit.js";
import { registerAuth } from "./commands/auth.js";
import { registerDirectory } from "./commands/directory.js";
import { registerGovernance } from "./commands/governance.js";
import { registerMacros } from "./commands/macros.js";
import { ExitCode } from "./exit-codes.js";
import { reportError } from "./output.js";
import { openSession, type GlobalOptions } from "./session.js";

/**
 * The `gatehouse` command line: commander for the commands, the client
 * package for the calls. Every command takes the global flags; exit codes
 * are in exit-codes.ts (and docs/cli.md).
 */

/** createProgram builds the command tree. */
export function createProgram(): Command {
  const program = new Command("gatehouse")
    .description("Gatehouse from the command line: log in, manage users, rooms and rules, push and run macros, read the audit log")
    .option("--profile <name>", "config profile (default: GATEHOUSE_PROFILE or the current one)")
    .option("--url <url>", "server URL, e.g. http://localhost:8080 (default: GATEHOUSE_URL or the profile's)")
    .option("--json", "print JSON for scripts instead of tables")
    .option("--no-retry", "do not retry calls the server refused as unavailable or rate limited")
    .showHelpAfterError()
    .exitOverride();
  const open = (cmd: Command) => openSession(cmd.optsWithGlobals<GlobalOptions>());
  registerAuth(program, open);
  registerDirectory(program, open);
  registerMacros(program, open);
  registerGovernance(program, open);
  registerAudit(program, open);
  registerAdmin(program, open);
  program.addHelpText("after", "\nExit codes: 0 ok, 1 failure, 2 usage, 3 not logged in, 4 denied, 5 not found, 6 invalid, 7 conflict (locked…), 8 unavailable, 9 check failed. See docs/cli.md.");
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  return program;
}

/** main runs one command line and answers the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 || error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help" ? ExitCode.ok : ExitCode.usage;
    }
    return reportError(error, argv.includes("--json"));
  }
}
