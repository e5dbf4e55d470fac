import { execFile, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { createUser } from "../support/fixtures.js";
import { adminPassword, startTestServer, type TestServer } from "../support/server.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const bin = join(repo, "bin", "gatehouse.js");

/** Result is what a CLI run answered. */
interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** documentedBlock answers the fenced block of a doc that follows `<!-- tested: name -->`. */
export function documentedBlock(doc: string, name: string): string {
  const text = readFileSync(join(repo, "docs", doc), "utf8");
  const at = text.indexOf(`<!-- tested: ${name} -->`);
  if (at < 0) throw new Error(`docs/${doc} has no block marked ${name}`);
  const match = /```[a-z]*\n([\s\S]*?)```/.exec(text.slice(at));
  return match![1]!;
}

describe("the gatehouse CLI", { timeout: 180_000 }, () => {
  let server: TestServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    server = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), "gatehouse-cli-"));
    // A `gatehouse` on PATH, as npm installs the bin.
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin", "gatehouse"), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`);
    chmodSync(join(dir, "bin", "gatehouse"), 0o755);
    env = {
      PATH: `${join(dir, "bin")}:${process.env.PATH}`,
      HOME: dir,
      GATEHOUSE_CONFIG: join(dir, "config", "gatehouse.json"),
      GATEHOUSE_URL: server.baseUrl,
      GATEHOUSE_ADMIN_PASSWORD: adminPassword,
    };
  });
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** gatehouse runs the CLI as a subprocess with `input` on stdin. */
  const gatehouse = (args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Result> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? dir, env: { ...env, ...options.env } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(options.input ?? "");
    });

  it("npx gatehouse --help lists the commands", async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile("npx", ["gatehouse", "--help"], { cwd: repo, env: { ...npxEnvironment(), npm_config_offline: "true" } }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
    for (const command of ["login", "logout", "whoami", "users", "roles", "rooms", "macros", "policy", "rules", "locks", "audit", "admin"]) {
      expect(out).toMatch(new RegExp(`^  ${command}\\b`, "m"));
    }
    const macros = await gatehouse(["macros", "--help"]);
    for (const sub of ["list", "push", "pull", "validate", "run"]) expect(macros.stdout).toMatch(new RegExp(`^  ${sub}\\b`, "m"));
  });

  it("runs the walkthrough of docs/cli.md: login, push a folder of macros, run them, read the audit, verify the chain", async () => {
    const script = documentedBlock("cli.md", "cli walkthrough");
    const work = mkdtempSync(join(dir, "walkthrough-"));
    const result = await new Promise<Result>((resolve) => {
      const child = spawn("bash", ["-c", script], { cwd: work, env: { ...env, GATEHOUSE_CONFIG: join(work, "config.json") } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    expect(result.stderr).not.toContain("error:");
    expect(result.code).toBe(0);
    // The push made both macros, the runs answered JSON, the second push updated only greet.
    expect(result.stdout).toMatch(/^greet\s+created\s+1\s/m);
    expect(result.stdout).toMatch(/^reports\/sum\s+created\s+1\s/m);
    expect(result.stdout).toContain(JSON.stringify({ greeting: "hello world" }, null, 2));
    expect(result.stdout).toMatch(/"outcome": "OK",\s+"output": 6,/);
    expect(result.stdout).toMatch(/^greet\s+updated\s+2\s/m);
    expect(result.stdout).toMatch(/^reports\/sum\s+unchanged\s+1\s/m);
    // No lock is left behind, the runs are in the audit log, the chain is intact.
    expect(result.stderr).toContain("(none)");
    expect(result.stdout.match(/^\d+\s+\S+\s+admin\s+macros\.run\s+allowed/gm)).toHaveLength(2);
    expect(result.stdout).toMatch(/^ok: \d+ events checked, the chain is intact$/m);
    const lines = readFileSync(join(work, "runs.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { action: string; outcome: string; hash: string });
    expect(lines).toHaveLength(2);
    expect(lines.every((e) => e.action === "macros.run" && e.outcome === "AUDIT_OUTCOME_ALLOWED" && e.hash.length > 0)).toBe(true);
  });

  describe("login and the config file", () => {
    const config = () => JSON.parse(readFileSync(env.GATEHOUSE_CONFIG!, "utf8")) as { currentProfile: string; profiles: Record<string, { accessToken?: string; refreshToken?: string; expiresAt?: string; username?: string }> };

    it("keeps the tokens in a 0600 file, refreshes an expiring token and stores the rotated refresh token, and forgets them on logout", async () => {
      const login = await gatehouse(["login", "--url", server.baseUrl, "--username", "admin", "--password-stdin", "--profile", "ops"], { input: `${adminPassword}\n` });
      expect(login.code).toBe(0);
      expect(statSync(env.GATEHOUSE_CONFIG!).mode & 0o777).toBe(0o600);
      const first = config().profiles.ops!;
      expect(config().currentProfile).toBe("ops");
      expect(first.refreshToken).toBeTruthy();
      expect(login.stdout + login.stderr).not.toContain(first.accessToken!);

      // Make the stored access token look expired: the next command refreshes it and stores the new pair.
      writeFileSync(env.GATEHOUSE_CONFIG!, JSON.stringify({ ...config(), profiles: { ops: { ...first, expiresAt: new Date(0).toISOString() } } }));
      const who = await gatehouse(["whoami", "--json"]);
      expect(who.code).toBe(0);
      expect((JSON.parse(who.stdout) as { user: { username: string } }).user.username).toBe("admin");
      const second = config().profiles.ops!;
      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(new Date(second.expiresAt!).getTime()).toBeGreaterThan(Date.now());
      expect(statSync(env.GATEHOUSE_CONFIG!).mode & 0o777).toBe(0o600);

      const logout = await gatehouse(["logout"]);
      expect(logout.code).toBe(0);
      expect(config().profiles.ops!.refreshToken).toBeUndefined();
      const after = await gatehouse(["whoami"]);
      expect(after.code).toBe(3);
      expect(after.stderr).toContain("not logged in");
    });

    it("uses GATEHOUSE_TOKEN instead of the config file", async () => {
      const token = await server.login();
      const who = await gatehouse(["whoami", "--json"], { env: { GATEHOUSE_TOKEN: token, GATEHOUSE_CONFIG: join(dir, "nowhere.json") } });
      expect(who.code).toBe(0);
      expect((JSON.parse(who.stdout) as { level: string }).level).toBe("LEVEL_SUPERGOD");
    });
  });

  describe("macros", () => {
    it("validates files with their line and column, refuses to push a folder with a violation, pulls a room into files, and reports a lock held by someone else", async () => {
      const token = await server.login();
      const admin = server.client({ token });
      const room = (await admin.rooms.createRoom({ name: `cli-macros-${Date.now()}` })).room!;
      const folder = mkdtempSync(join(dir, "macros-"));
      writeFileSync(join(folder, "ok.js"), "export default function () { return 1; }\n");
      writeFileSync(join(folder, "bad.js"), 'import { fetch } from "gatehouse:nope";\nexport default function () { return 2; }\n');
      const as = { env: { GATEHOUSE_TOKEN: token }, cwd: folder };

      const validate = await gatehouse(["macros", "validate", ".", "--room", room.name], as);
      expect(validate.code).toBe(6);
      expect(validate.stdout).toMatch(/^bad\.js:1:\d+ /m);
      const refusedPush = await gatehouse(["macros", "push", ".", "--room", room.name], as);
      expect(refusedPush.code).toBe(6);
      expect((await admin.macros.listMacros({ roomId: room.roomId })).macros).toEqual([]);

      rmSync(join(folder, "bad.js"));
      expect((await gatehouse(["macros", "push", ".", "--room", room.roomId], as)).code).toBe(0);
      const [ok] = (await admin.macros.listMacros({ roomId: room.roomId })).macros;
      const out = join(folder, "pulled");
      const pull = await gatehouse(["macros", "pull", out, "--room", room.name, "--json"], as);
      expect(JSON.parse(pull.stdout)).toMatchObject([{ name: "ok", version: 1 }]);
      expect(readFileSync(join(out, "ok.js"), "utf8")).toBe(ok!.code);

      // Someone else holds the macro's lock: the push stops with LOCKED and names the holder, and leaves their lock alone.
      const bob = await createUser(server, { level: 2, roles: ["editor"], prefix: "bob" });
      await admin.rooms.addRoomMember({ roomId: room.roomId, userId: bob.id, role: RoomRole.EDITOR });
      await server.client({ token: bob.token }).locks.acquireLock({ roomId: room.roomId, target: `macro/${ok!.macroId}` });
      writeFileSync(join(folder, "ok.js"), "export default function () { return 3; }\n");
      const locked = await gatehouse(["macros", "push", ".", "--room", room.name], as);
      expect(locked.code).toBe(7);
      expect(locked.stderr).toMatch(/^error: LOCKED: /m);
      expect(locked.stderr).toContain(`held by: ${bob.username}`);
      const status = await gatehouse(["locks", "status", "--room", room.name, "--json"], as);
      expect(JSON.parse(status.stdout)).toMatchObject([{ target: `macro/${ok!.macroId}`, ownerName: bob.username }]);

      // A room admin breaks it (by the macro's name).
      const broken = await gatehouse(["locks", "break", "macro/ok", "--room", room.name, "--json"], as);
      expect(JSON.parse(broken.stdout)).toMatchObject({ broken: { ownerName: bob.username } });
      expect(JSON.parse((await gatehouse(["locks", "status", "--room", room.name, "--json"], as)).stdout)).toEqual([]);
    });

    it("sets and reads a room policy and its effective merge, and creates, lists and deletes a rule", async () => {
      const token = await server.login();
      const room = (await server.client({ token }).rooms.createRoom({ name: `cli-policy-${Date.now()}` })).room!;
      const as = { env: { GATEHOUSE_TOKEN: token } };
      const set = await gatehouse(["policy", "set", "-", "--room", room.name], { ...as, input: JSON.stringify({ timeoutMs: 500 }) });
      expect(set.code).toBe(0);
      expect(JSON.parse((await gatehouse(["policy", "get", "--room", room.roomId], as)).stdout)).toEqual({ timeoutMs: 500 });
      const effective = JSON.parse((await gatehouse(["policy", "effective", "--room", room.name, "--json"], as)).stdout) as { policy: { timeoutMs: number }; sources: Record<string, string> };
      expect(effective.policy.timeoutMs).toBe(500);
      expect(effective.sources.timeout_ms).toBe("room");
      const loosen = await gatehouse(["policy", "set", "-", "--room", room.name], { ...as, input: JSON.stringify({ timeoutMs: 10_000_000 }) });
      expect(loosen.code).toBe(6);
      expect(loosen.stderr).toMatch(/^error: (POLICY_LOOSENS|INVALID_ARGUMENT): /m);

      const created = JSON.parse((await gatehouse(["rules", "create", "--subject", "*", "--action", "store.read", "--resource", "secret/*", "--effect", "deny", "--json"], as)).stdout) as { ruleId: string; effect: string };
      expect(created.effect).toBe("EFFECT_DENY");
      const listed = JSON.parse((await gatehouse(["rules", "list", "--json"], as)).stdout) as Array<{ ruleId: string }>;
      expect(listed.map((r) => r.ruleId)).toContain(created.ruleId);
      expect((await gatehouse(["rules", "delete", created.ruleId], as)).code).toBe(0);
      const after = JSON.parse((await gatehouse(["rules", "list", "--json"], as)).stdout) as Array<{ ruleId: string }>;
      expect(after.map((r) => r.ruleId)).not.toContain(created.ruleId);
    });
  });

  describe("errors", () => {
    it("prints the ErrorDetail reason and exits with the documented code", async () => {
      const token = await server.login();
      const denied = await gatehouse(["users", "create", "someone", "--password-stdin"], { input: "x", env: { GATEHOUSE_TOKEN: "not-a-token" } });
      expect(denied.code).toBe(3);
      expect(denied.stderr).toMatch(/^error: UNAUTHENTICATED/m);

      const missing = await gatehouse(["macros", "run", "nope", "--room", "no-such-room"], { env: { GATEHOUSE_TOKEN: token } });
      expect(missing.code).toBe(5);

      const json = await gatehouse(["rooms", "create", " ", "--json"], { env: { GATEHOUSE_TOKEN: token } });
      expect(json.code).toBe(6);
      expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: "INVALID_ARGUMENT", reason: "INVALID_ARGUMENT" } });

      const usage = await gatehouse(["rules", "create", "--subject", "*"], { env: { GATEHOUSE_TOKEN: token } });
      expect(usage.code).toBe(2);
    });
  });
});

/**
 * npxEnvironment is this process's environment without what an enclosing
 * `npx -p … -c '…'` (CI's Node 24 run) leaves for its child: `npm_config_call`
 * and `npm_config_package` would make the nested `npx` a usage error.
 */
function npxEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.npm_config_call;
  delete env.npm_config_package;
  return env;
}
