import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createConnection } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Redis } from "ioredis";

const run = promisify(execFile);

/** LOCK_NODE_PORTS are the three local Redis masters the lock tests use. */
export const LOCK_NODE_PORTS = [6379, 6380, 6381] as const;

/** pingRedis answers whether a Redis server answers PING on 127.0.0.1:port within timeoutMs. */
export function pingRedis(port: number, timeoutMs = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let answer = "";
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      answer += chunk.toString();
      if (answer.includes("\r\n")) done(answer.startsWith("+PONG"));
    });
    socket.on("error", () => done(false));
  });
}

async function waitFor(port: number, up: boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await pingRedis(port)) !== up) {
    if (Date.now() > deadline) throw new Error(`redis on port ${port} did not ${up ? "start" : "stop"} within ${timeoutMs} ms`);
    await sleep(25);
  }
}

/**
 * startRedis starts a throw-away Redis master on 127.0.0.1:port (no
 * persistence, log in /tmp) and waits until it answers PING. Starting one
 * that is already up is harmless.
 */
export async function startRedis(port: number): Promise<void> {
  if (await pingRedis(port)) return;
  await run("redis-server", [
    "--daemonize", "yes",
    "--bind", "127.0.0.1",
    "--port", String(port),
    "--save", "",
    "--appendonly", "no",
    "--dir", "/tmp",
    "--logfile", `/tmp/redis-${port}.log`,
  ]);
  await waitFor(port, true, 5000);
}

/**
 * stopRedis shuts the Redis on port down without saving (its data is lost,
 * as in a crash of a node without persistence) and waits until it is gone.
 */
export async function stopRedis(port: number): Promise<void> {
  // The server closes the connection instead of answering: an error here is normal.
  await run("redis-cli", ["-p", String(port), "shutdown", "nosave"]).catch(() => undefined);
  await waitFor(port, false, 5000);
}

/** ensureRedisNodes starts every Redis of `ports` that is not answering. */
export async function ensureRedisNodes(ports: readonly number[]): Promise<void> {
  await Promise.all(ports.map((port) => startRedis(port)));
}

/**
 * connectRedis opens one ioredis client per port and waits until each is
 * ready. Commands fail at once while a node is down (no offline queue), and
 * clients reconnect by themselves within 200 ms of a node coming back.
 */
export async function connectRedis(ports: readonly number[]): Promise<Redis[]> {
  const clients = ports.map((port) => {
    const client = new Redis({
      host: "127.0.0.1",
      port,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 1000,
      retryStrategy: (times) => Math.min(20 * times, 200),
    });
    client.on("error", () => undefined); // expected while a node is stopped
    return client;
  });
  await Promise.all(clients.map((c) => c.connect()));
  return clients;
}

/** waitReady waits until every client has (re)connected. */
export async function waitReady(clients: readonly Redis[], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const client of clients) {
    while (client.status !== "ready") {
      if (Date.now() > deadline) throw new Error(`redis client for port ${client.options.port} not ready (${client.status})`);
      await sleep(20);
    }
  }
}

/** randomPrefix answers a key prefix no other test file uses: `test:<name>:<random>:`. */
export function randomPrefix(name: string): string {
  return `test:${name}:${randomBytes(4).toString("hex")}:`;
}

/** deletePrefix deletes every key under prefix on every client that answers. */
export async function deletePrefix(clients: readonly Redis[], prefix: string): Promise<void> {
  await Promise.all(
    clients.map(async (client) => {
      if (client.status !== "ready") return;
      let cursor = "0";
      do {
        const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
        if (keys.length > 0) await client.del(...keys);
        cursor = next;
      } while (cursor !== "0");
    }),
  );
}

/** closeRedis quits every client (disconnecting those that cannot quit). */
export async function closeRedis(clients: readonly Redis[]): Promise<void> {
  await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
}
