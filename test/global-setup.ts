import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createConnection } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { ensureRedisNodes, LOCK_NODE_PORTS } from "./support/redis.js";

// Vitest's global setup: on a fresh machine of this kind, `npm test` alone
// starts what the suite needs, as .ci/run does: a stopped PostgreSQL cluster,
// the three Redis nodes, and Debian's Chromium for the console test. Each
// step first checks and does nothing when all is up (a fraction of a second).

const run = promisify(execFile);

function reachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function ensurePostgres(): Promise<void> {
  // A cluster named by GATEHOUSE_TEST_POSTGRES_URL elsewhere is not ours to start.
  const url = new URL(process.env.GATEHOUSE_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432");
  const port = Number(url.port || 5432);
  if (!["127.0.0.1", "localhost"].includes(url.hostname) || (await reachable("127.0.0.1", port))) return;
  if (!existsSync("/etc/postgresql")) throw new Error("PostgreSQL is not running on 127.0.0.1 and no cluster is installed (/etc/postgresql): apt-get install postgresql");
  const [version] = readdirSync("/etc/postgresql");
  process.stderr.write(`global setup: starting PostgreSQL ${version}\n`);
  await run("pg_ctlcluster", ["--skip-systemctl-redirect", version!, "main", "start"]).catch((err: unknown) => {
    // Started meanwhile by someone else: fine if it answers below.
    process.stderr.write(`global setup: pg_ctlcluster: ${(err as Error).message}\n`);
  });
  for (let i = 0; i < 60; i++) {
    if (await reachable("127.0.0.1", port)) return;
    await sleep(500);
  }
  throw new Error(`PostgreSQL did not start on 127.0.0.1:${port} within 30 s`);
}

async function ensureChromium(): Promise<void> {
  const path = process.env.GATEHOUSE_CHROMIUM ?? "/usr/bin/chromium";
  if (existsSync(path) || process.env.GATEHOUSE_CHROMIUM) return;
  process.stderr.write("global setup: installing Debian's chromium for the console test (apt-get)\n");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    await run("apt-get", ["install", "-y", "chromium"], { env, maxBuffer: 64 * 1024 * 1024 }).catch(async () => {
      await run("apt-get", ["update"], { env, maxBuffer: 64 * 1024 * 1024 });
      await run("apt-get", ["install", "-y", "chromium"], { env, maxBuffer: 64 * 1024 * 1024 });
    });
  } catch (err) {
    // The console test names the missing browser itself; every other test can still run.
    process.stderr.write(`global setup: could not install chromium: ${(err as Error).message}\n`);
  }
}

/** setup runs once before the suite. */
export default async function setup(): Promise<void> {
  await Promise.all([ensurePostgres(), ensureRedisNodes(LOCK_NODE_PORTS), ensureChromium()]);
}
