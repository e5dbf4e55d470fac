import { isUuid, Level, type GatehouseClient, type Macro } from "./client.js";
import { ExitCode } from "./exit-codes.js";
import { CliError } from "./output.js";

/** listAll follows next_page_token until the last page (or `limit` items) and answers every item. */
export async function listAll<T>(page: (pageToken: string) => Promise<{ items: T[]; next: string }>, limit = Infinity): Promise<T[]> {
  const all: T[] = [];
  let token = "";
  do {
    const { items, next } = await page(token);
    all.push(...items);
    token = next;
  } while (token !== "" && all.length < limit);
  return all.slice(0, limit);
}

const notFound = (what: string, name: string) => new CliError(`no ${what} named ${JSON.stringify(name)}`, ExitCode.notFound);

/** roomIdOf takes a room id or name and answers the id. */
export async function roomIdOf(gh: GatehouseClient, room: string): Promise<string> {
  if (isUuid(room)) return room;
  const rooms = await listAll(async (pageToken) => {
    const res = await gh.rooms.listRooms({ pageToken, pageSize: 1000 });
    return { items: res.rooms, next: res.nextPageToken };
  });
  const found = rooms.find((r) => r.name === room);
  if (!found) throw notFound("room", room);
  return found.roomId;
}

/** macrosOf answers every macro of a room, with code. */
export function macrosOf(gh: GatehouseClient, roomId: string): Promise<Macro[]> {
  return listAll(async (pageToken) => {
    const res = await gh.macros.listMacros({ roomId, pageToken, pageSize: 1000 });
    return { items: res.macros, next: res.nextPageToken };
  });
}

/** macroIdOf takes a macro id or name in a room and answers the id. */
export async function macroIdOf(gh: GatehouseClient, roomId: string, macro: string): Promise<string> {
  if (isUuid(macro)) return macro;
  const found = (await macrosOf(gh, roomId)).find((m) => m.name === macro);
  if (!found) throw notFound("macro", macro);
  return found.macroId;
}

/** userIdOf takes a user id or username and answers the id. */
export async function userIdOf(gh: GatehouseClient, user: string): Promise<string> {
  if (isUuid(user)) return user;
  const users = await listAll(async (pageToken) => {
    const res = await gh.users.listUsers({ pageToken, pageSize: 1000 });
    return { items: res.users, next: res.nextPageToken };
  });
  const found = users.find((u) => u.username === user);
  if (!found) throw notFound("user", user);
  return found.userId;
}

/** roleIdsOf takes role ids or names and answers the ids. */
export async function roleIdsOf(gh: GatehouseClient, roles: string[]): Promise<string[]> {
  if (roles.every(isUuid)) return roles;
  const all = await listAll(async (pageToken) => {
    const res = await gh.roles.listRoles({ pageToken, pageSize: 1000 });
    return { items: res.roles, next: res.nextPageToken };
  });
  return roles.map((r) => {
    if (isUuid(r)) return r;
    const found = all.find((x) => x.name === r);
    if (!found) throw notFound("role", r);
    return found.roleId;
  });
}

/** levelOf parses a level name (guest, user, admin, god, supergod). */
export function levelOf(name: string): Level {
  const level = Level[name.toUpperCase() as keyof typeof Level] as Level | undefined;
  if (level === undefined || level === Level.UNSPECIFIED) throw new CliError(`unknown level ${JSON.stringify(name)}: use guest, user, admin, god or supergod`);
  return level;
}

/** levelName answers a level's short name (user, admin…). */
export function levelName(level: Level): string {
  return (Level[level] ?? "UNSPECIFIED").toLowerCase();
}

/** timeText formats a protobuf timestamp for a table. */
export function timeText(ts: { seconds: bigint; nanos: number } | undefined): string {
  return ts ? new Date(Number(ts.seconds) * 1000).toISOString().replace(/\.000Z$/, "Z") : "";
}

/** readStdin answers everything on standard input. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** readPassword reads a password from stdin (`--password-stdin`) or, on a terminal, from a prompt that does not echo. */
export async function readPassword(fromStdin: boolean, prompt = "Password: "): Promise<string> {
  if (fromStdin) return (await readStdin()).replace(/\r?\n$/, "");
  if (!process.stdin.isTTY) throw new CliError("no terminal to ask for the password: pass --password-stdin and pipe it in");
  const { createInterface } = await import("node:readline");
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  return new Promise((resolve) => {
    process.stderr.write(prompt);
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
    rl.question("", (answer) => {
      rl.close();
      process.stderr.write("\n");
      resolve(answer);
    });
  });
}
