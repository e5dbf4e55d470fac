import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createGatehouseClient } from "../../src/client/index.js";
import { startProcess, type ServerProcess } from "../support/server-process.js";
import { freePort } from "../support/replicas.js";
import { startTestServer } from "../support/server.js";
import { createTestDatabase } from "../support/database.js";

// The traps of the first hour (issue 16), with real server processes in the
// embedded (PGlite) mode: one process per data directory, a stale lock taken
// over, the port bound before the bootstrap, the first password kept in a
// file, and the offline password reset.

const startTimeoutMs = 120_000;
const dirs: string[] = [];
const processes: ServerProcess[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-first-hour-"));
  dirs.push(dir);
  return dir;
}

function startServer(dataDir: string, port: number, env: Record<string, string> = {}): ServerProcess {
  const server = startProcess("src/main.ts", {
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_HOST: "127.0.0.1",
    GATEHOUSE_HEALTH_INTERVAL_MS: "500",
    GATEHOUSE_SANDBOX_WORKERS: "1",
    GATEHOUSE_SHUTDOWN_GRACE_MS: "1000",
    ...env,
  });
  processes.push(server);
  return server;
}

function admin(args: string[], env: Record<string, string>, stdin?: string): ServerProcess {
  const run = startProcess("src/admin/main.ts", env, args, stdin);
  processes.push(run);
  return run;
}

/** listing answers every path under dir with its size (what a refused process must leave alone). */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(`${relative(dir, path)} ${statSync(path).size}`);
    }
  };
  walk(dir);
  return out.sort();
}

async function login(port: number, password: string): Promise<string> {
  const client = createGatehouseClient({ baseUrl: `http://127.0.0.1:${port}`, protocol: "connect" });
  return (await client.auth.login({ tenant: "default", username: "admin", password })).accessToken;
}

async function listens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop("SIGKILL")));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("a data directory, one process at a time", { timeout: 240_000 }, () => {
  const dataDir = tempDir();
  let first: ServerProcess;
  let firstPassword: string;

  it("refuses a second server on the same data directory, naming it and the holder, and writes nothing", async () => {
    const port = await freePort();
    first = startServer(dataDir, port);
    await first.waitForOutput(/gatehouse listening/, startTimeoutMs);
    firstPassword = (await first.waitForOutput(/password: (\S+)/))[1]!;
    const before = listing(dataDir);
    const lockBefore = readFileSync(join(dataDir, "gatehouse.lock"), "utf8");

    const secondPort = await freePort();
    const second = startServer(dataDir, secondPort);
    const exit = await second.exited;

    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(second.stderr()).toContain(dataDir);
    expect(second.stderr()).toContain(`process ${first.child.pid}`);
    expect(second.stderr()).not.toMatch(/\n\s+at /);
    expect(second.stdout()).not.toMatch(/password/);
    expect(listing(dataDir)).toEqual(before);
    expect(readFileSync(join(dataDir, "gatehouse.lock"), "utf8")).toBe(lockBefore);
    expect(await listens(secondPort)).toBe(false);
    // The first server goes on serving.
    expect(await login(port, firstPassword)).not.toBe("");
  });

  it("refuses reset-password while a server holds the data directory", async () => {
    const run = admin(["reset-password", "--user", "admin"], { GATEHOUSE_DATA_DIR: dataDir });
    const exit = await run.exited;
    expect(exit.code).toBe(1);
    expect(run.stderr()).toContain(dataDir);
    expect(run.stderr()).toContain(`process ${first.child.pid}`);
    expect(run.stdout()).not.toMatch(/New password/);
  });

  it("takes over the lock of a server killed with SIGKILL at once, with a log line, and keeps the first password on offer", async () => {
    const deadPid = first.child.pid;
    await first.stop("SIGKILL");
    expect(existsSync(join(dataDir, "gatehouse.lock"))).toBe(true); // left behind by the killed holder

    const port = await freePort();
    const next = startServer(dataDir, port);
    await next.waitForOutput(/gatehouse listening/, startTimeoutMs);
    expect(next.stdout()).toMatch(new RegExp(`took over the lock of process ${deadPid}\\b`));
    expect(next.stdout()).toContain(join(dataDir, "initial-admin-password"));
    expect(next.stdout()).not.toContain(firstPassword);
    expect(await login(port, firstPassword)).not.toBe("");
    const stopped = await next.stop();
    expect(stopped.code).toBe(0);
    expect(existsSync(join(dataDir, "gatehouse.lock"))).toBe(false);
  });

  it("resets the admin password offline (audited), and the next start removes the stale first-password file", async () => {
    const run = admin(["reset-password", "--user", "admin", "--tenant", "default"], { GATEHOUSE_DATA_DIR: dataDir });
    const exit = await run.exited;
    expect(exit.code, run.stderr()).toBe(0);
    const newPassword = run.stdout().match(/New password: (\S+)/)?.[1];
    expect(newPassword).toBeDefined();
    expect(newPassword).not.toBe(firstPassword);
    expect(existsSync(join(dataDir, "gatehouse.lock"))).toBe(false);

    const port = await freePort();
    const next = startServer(dataDir, port);
    await next.waitForOutput(/gatehouse listening/, startTimeoutMs);
    expect(existsSync(join(dataDir, "initial-admin-password"))).toBe(false);
    expect(next.stdout()).toMatch(/removed the initial admin password file/);
    await expect(login(port, firstPassword)).rejects.toThrow();
    const token = await login(port, newPassword!);
    const client = createGatehouseClient({ baseUrl: `http://127.0.0.1:${port}`, protocol: "connect", token });
    const { events } = await client.audit.listAuditEvents({ action: "users.reset_password" });
    expect(events).toHaveLength(1);
    expect(events[0]!.method).toBe("cli/reset-password");
    expect((await client.audit.verifyAuditChain({})).ok).toBe(true);
    await next.stop();
  });
});

describe("port first, then bootstrap", { timeout: 240_000 }, () => {
  it("stops a first start on a busy port in one line naming GATEHOUSE_PORT, with no admin created; the next start offers the password file", async () => {
    const dataDir = tempDir();
    const blocker = net.createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as net.AddressInfo).port)));
    try {
      const refused = startServer(dataDir, port);
      const exit = await refused.exited;
      expect(exit.code).toBe(1);
      const lines = refused.stderr().trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/GATEHOUSE_PORT/);
      expect(lines[0]).toContain(String(port));
      expect(refused.stdout()).not.toMatch(/password/);
      expect(refused.stdout()).not.toMatch(/created the default tenant/);
      expect(existsSync(join(dataDir, "initial-admin-password"))).toBe(false);
    } finally {
      blocker.close();
    }

    const freeOne = await freePort();
    const next = startServer(dataDir, freeOne);
    await next.waitForOutput(/gatehouse listening/, startTimeoutMs);
    // The bootstrap happens now: the refused start left no admin behind.
    const password = next.stdout().match(/password: (\S+)/)?.[1];
    expect(password).toBeDefined();
    const file = join(dataDir, "initial-admin-password");
    expect(readFileSync(file, "utf8").trim()).toBe(password);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await login(freeOne, password!)).not.toBe("");
    // Where to go is said at start.
    expect(next.stdout()).toContain(`API http://127.0.0.1:${freeOne}, console http://127.0.0.1:${freeOne}/console/`);
    // Never in the structured log.
    const logLines = next.stdout().split("\n").filter((l) => l.startsWith("{"));
    expect(logLines.some((l) => l.includes(password!))).toBe(false);
    await next.stop();
  });
});

describe("reset-password against GATEHOUSE_DATABASE_URL", { timeout: 240_000 }, () => {
  it("sets the password given on stdin, refuses one the policy refuses, and ends the user's sessions", async () => {
    const db = await createTestDatabase();
    try {
      const server = await startTestServer({ db, redis: false });
      const oldToken = await server.login();
      await server.close();
      const env = { GATEHOUSE_DATABASE_URL: db.url, GATEHOUSE_DATA_DIR: tempDir() };

      const weak = admin(["reset-password", "--user", "admin"], { ...env, GATEHOUSE_RESET_PASSWORD: "short" });
      expect((await weak.exited).code).toBe(1);
      expect(weak.stderr()).toMatch(/at least/);

      const unknown = admin(["reset-password", "--user", "nobody"], env);
      expect((await unknown.exited).code).toBe(1);

      const run = admin(["reset-password", "--user", "admin", "--password-stdin"], env, "a-new-admin-password-2\n");
      expect((await run.exited).code, run.stderr()).toBe(0);
      expect(run.stdout()).not.toContain("a-new-admin-password-2");
      expect(run.stdout()).toMatch(/1 session\(s\) ended/);

      // The CLI's `gatehouse admin reset-password` runs the same recovery.
      const cli = spawnSync(process.execPath, ["bin/gatehouse.js", "admin", "reset-password", "admin", "--password-stdin"], {
        env: { ...process.env, ...env },
        input: "a-cli-admin-password-3\n",
        encoding: "utf8",
      });
      expect(cli.status, cli.stderr).toBe(0);
      expect(cli.stdout + cli.stderr).not.toContain("a-cli-admin-password-3");

      const again = await startTestServer({ db, redis: false });
      try {
        await expect(again.login("admin", "test-admin-password-1")).rejects.toThrow();
        await expect(again.login("admin", "a-new-admin-password-2")).rejects.toThrow();
        expect(await again.login("admin", "a-cli-admin-password-3")).not.toBe("");
        await expect(again.client({ token: oldToken }).auth.whoAmI({})).rejects.toThrow();
      } finally {
        await again.close();
      }
    } finally {
      await db.drop();
    }
  });
});
