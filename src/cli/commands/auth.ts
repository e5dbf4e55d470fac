import type { Command } from "commander";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { WhoAmIResponseSchema } from "../client.js";
import { levelName, readPassword, timeText } from "../lookup.js";
import { CliError } from "../output.js";
import type { Session } from "../session.js";

type Open = (cmd: Command) => Session;

/** registerAuth adds login, logout, whoami and token. */
export function registerAuth(program: Command, open: Open): void {
  program
    .command("login")
    .description("log in and keep the tokens in the config file (mode 0600)")
    .option("--tenant <name>", "tenant (default: GATEHOUSE_TENANT, the profile's, or default)")
    .option("--username <name>", "user name (default: the profile's)")
    .option("--password-stdin", "read the password from standard input")
    .action(async (opts: { tenant?: string; username?: string; passwordStdin?: boolean }, cmd: Command) => {
      const s = open(cmd);
      const url = s.url();
      const tenant = opts.tenant ?? s.tenant();
      const username = opts.username ?? s.profile.username;
      if (!username) throw new CliError("which user? pass --username");
      const password = await readPassword(opts.passwordStdin === true);
      const res = await s.anonymous().auth.login({ tenant, username, password });
      s.saveProfile(
        { url, tenant, username, accessToken: res.accessToken, refreshToken: res.refreshToken, expiresAt: res.expiresAt ? timestampDate(res.expiresAt).toISOString() : undefined },
        true,
      );
      if (s.out.json) s.out.data({ profile: s.profileName, url, tenant, username, userId: res.user?.userId ?? "" });
      else s.out.note(`logged in to ${url} as ${username} (tenant ${tenant}); profile ${s.profileName} in ${s.configPath}`);
    });

  program
    .command("logout")
    .description("end the session on the server and forget the profile's tokens")
    .action(async (_opts: unknown, cmd: Command) => {
      const s = open(cmd);
      if (s.storedTokens()) {
        await s
          .client()
          .auth.logout({})
          .catch(() => undefined); // an expired session is as good as ended
      }
      const { accessToken: _a, refreshToken: _r, expiresAt: _e, ...rest } = s.profile;
      s.saveProfile(rest);
      s.out.note(`logged out (profile ${s.profileName})`);
    });

  program
    .command("whoami")
    .description("show the user, tenant, level, roles and permissions of the current login")
    .action(async (_opts: unknown, cmd: Command) => {
      const s = open(cmd);
      const me = await s.client().auth.whoAmI({});
      if (s.out.json) return s.out.data(s.out.message(WhoAmIResponseSchema, me));
      s.out.table(
        ["field", "value"],
        [
          ["user", `${me.user?.username ?? ""} (${me.user?.userId ?? ""})`],
          ["tenant", me.tenantId],
          ["level", levelName(me.level)],
          ["roles", me.roles.join(", ")],
          ["permissions", me.permissions.join(", ")],
          ["session expires", timeText(me.sessionExpiresAt)],
        ],
      );
    });

  program
    .command("token")
    .description("print the current access token (refreshed if needed), e.g. for GATEHOUSE_TOKEN or curl")
    .action(async (_opts: unknown, cmd: Command) => {
      const s = open(cmd);
      // Make one call so an expiring token is refreshed (and the new one stored) first.
      await s.client().auth.whoAmI({});
      const token = process.env.GATEHOUSE_TOKEN ?? s.profile.accessToken;
      if (s.out.json) s.out.data({ accessToken: token, expiresAt: s.profile.expiresAt });
      else s.out.line(token ?? "");
    });
}
