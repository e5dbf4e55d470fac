import { Redis } from "ioredis";
import type { Logger } from "../logger.js";

/**
 * RedisNodes are the configured Redis masters: all of them carry Redlock,
 * the first carries rate limits and the pub/sub bus.
 */
export interface RedisNodes {
  clients: Redis[];
  /** primary is the node used for rate limits and pub/sub. */
  primary: Redis;
  /** subscriber is a dedicated connection of the primary for pub/sub. */
  subscriber: Redis;
  /** pingAll answers how many nodes answered PING within the timeout. */
  pingAll(timeoutMs?: number): Promise<number>;
  close(): Promise<void>;
}

/** createRedisNodes connects to every URL; reconnects are automatic and endless. */
export function createRedisNodes(urls: string[], logger: Logger): RedisNodes {
  const make = (url: string, autoPipelining: boolean): Redis => {
    const client = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      // Commands issued in the same tick go out in one write (a run's two limits, the lock quorum).
      // Not on the subscriber: a connection in subscriber mode takes no pipelines.
      enableAutoPipelining: autoPipelining,
      connectTimeout: 2000,
      commandTimeout: 2000,
      retryStrategy: (times) => Math.min(50 * times, 1000),
    });
    let wasDown = false;
    client.on("error", (err: Error) => {
      if (!wasDown) logger.warn({ redis: redactUrl(url), err: err.message }, "redis node unreachable");
      wasDown = true;
    });
    client.on("ready", () => {
      if (wasDown) logger.info({ redis: redactUrl(url) }, "redis node back");
      wasDown = false;
    });
    return client;
  };
  const clients = urls.map((url) => make(url, true));
  const primary = clients[0]!;
  const subscriber = make(urls[0]!, false);
  return {
    clients,
    primary,
    subscriber,
    async pingAll(timeoutMs = 500) {
      const results = await Promise.all(
        clients.map((c) =>
          c.status !== "ready"
            ? false
            : Promise.race([
                c.ping().then(() => true, () => false),
                new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
              ]),
        ),
      );
      return results.filter(Boolean).length;
    },
    async close() {
      await Promise.all([...clients, subscriber].map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = "";
    u.username = "";
    return u.toString();
  } catch {
    return "redis";
  }
}
