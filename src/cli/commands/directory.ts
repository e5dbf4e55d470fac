import type { Command } from "commander";
import { RoleSchema, RoomSchema, UserSchema } from "../client.js";
import { levelName, levelOf, listAll, readPassword, roleIdsOf, timeText } from "../lookup.js";
import type { Session } from "../session.js";

type Open = (cmd: Command) => Session;

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** registerDirectory adds users, roles and rooms: list and create. */
export function registerDirectory(program: Command, open: Open): void {
  const users = program.command("users").description("users of the tenant");
  users
    .command("list")
    .description("list users")
    .action(async (_opts: unknown, cmd: Command) => {
      const s = open(cmd);
      const gh = s.client();
      const all = await listAll(async (pageToken) => {
        const res = await gh.users.listUsers({ pageToken, pageSize: 1000 });
        return { items: res.users, next: res.nextPageToken };
      });
      if (s.out.json) return s.out.data(all.map((u) => s.out.message(UserSchema, u)));
      s.out.table(["username", "level", "roles", "disabled", "id"], all.map((u) => [u.username, levelName(u.level), u.roleNames.join(","), u.disabled ? "yes" : "", u.userId]));
    });
  users
    .command("create <username>")
    .description("create a user (the password is read from stdin or a prompt)")
    .option("--level <level>", "guest, user, admin, god or supergod", "user")
    .option("--role <role>", "a role name or id (repeatable)", collect, [])
    .option("--password-stdin", "read the new user's password from standard input")
    .action(async (username: string, opts: { level: string; role: string[]; passwordStdin?: boolean }, cmd: Command) => {
      const s = open(cmd);
      const gh = s.client();
      const level = levelOf(opts.level);
      const roleIds = await roleIdsOf(gh, opts.role);
      const password = await readPassword(opts.passwordStdin === true, `Password for ${username}: `);
      const { user } = await gh.users.createUser({ username, password, level, roleIds });
      if (s.out.json) return s.out.data(s.out.message(UserSchema, user!));
      s.out.table(["username", "level", "roles", "id"], [[user!.username, levelName(user!.level), user!.roleNames.join(","), user!.userId]]);
    });

  const roles = program.command("roles").description("roles (sets of permission keys)");
  roles
    .command("list")
    .description("list roles")
    .action(async (_opts: unknown, cmd: Command) => {
      const s = open(cmd);
      const gh = s.client();
      const all = await listAll(async (pageToken) => {
        const res = await gh.roles.listRoles({ pageToken, pageSize: 1000 });
        return { items: res.roles, next: res.nextPageToken };
      });
      if (s.out.json) return s.out.data(all.map((r) => s.out.message(RoleSchema, r)));
      s.out.table(["name", "built-in", "permissions", "id"], all.map((r) => [r.name, r.builtIn ? "yes" : "", r.permissions.join(","), r.roleId]));
    });
  roles
    .command("create <name>")
    .description("create a role")
    .option("--description <text>", "what the role is for", "")
    .option("--permission <key>", "a permission key, e.g. macros.run (repeatable)", collect, [])
    .action(async (name: string, opts: { description: string; permission: string[] }, cmd: Command) => {
      const s = open(cmd);
      const { role } = await s.client().roles.createRole({ name, description: opts.description, permissions: opts.permission });
      if (s.out.json) return s.out.data(s.out.message(RoleSchema, role!));
      s.out.table(["name", "permissions", "id"], [[role!.name, role!.permissions.join(","), role!.roleId]]);
    });

  const rooms = program.command("rooms").description("rooms (where macros, repos and locks live)");
  rooms
    .command("list")
    .description("list rooms")
    .action(async (_opts: unknown, cmd: Command) => {
      const s = open(cmd);
      const gh = s.client();
      const all = await listAll(async (pageToken) => {
        const res = await gh.rooms.listRooms({ pageToken, pageSize: 1000 });
        return { items: res.rooms, next: res.nextPageToken };
      });
      if (s.out.json) return s.out.data(all.map((r) => s.out.message(RoomSchema, r)));
      s.out.table(["name", "created", "id"], all.map((r) => [r.name, timeText(r.createdAt), r.roomId]));
    });
  rooms
    .command("create <name>")
    .description("create a room")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const s = open(cmd);
      const { room } = await s.client().rooms.createRoom({ name });
      if (s.out.json) return s.out.data(s.out.message(RoomSchema, room!));
      s.out.table(["name", "id"], [[room!.name, room!.roomId]]);
    });
}
