import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { createLogger } from "../../src/logger.js";
import { createRedisBus, type Bus } from "../../src/shared-state/bus.js";
import { createRedisNodes, type RedisNodes } from "../../src/shared-state/redis-nodes.js";
import { ensureRedisNodes, randomPrefix } from "../support/redis.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

/**
 * The invalidation bus over Redis pub/sub: a replica that stops hearing it
 * serves revoked sessions and old roles until its cache TTLs run out, so it
 * must stay subscribed through whatever its connection goes through.
 */

const opened: Array<{ nodes: RedisNodes; bus: Bus }> = [];
const proxies: TcpProxy[] = [];
const logger = createLogger("silent");

function open(url: string, prefix: string): { nodes: RedisNodes; bus: Bus } {
  const nodes = createRedisNodes([url], logger);
  const bus = createRedisBus(nodes, prefix, logger);
  opened.push({ nodes, bus });
  return { nodes, bus };
}

/** heard publishes `message` on `channel` from another connection until `got` holds it (or 3 s pass). */
async function heard(prefix: string, channel: string, message: string, got: string[]): Promise<boolean> {
  const publisher = new Redis(6379);
  try {
    for (const deadline = Date.now() + 3000; Date.now() < deadline; ) {
      await publisher.publish(prefix + channel, message);
      await sleep(50);
      if (got.includes(message)) return true;
    }
    return false;
  } finally {
    publisher.disconnect();
  }
}

afterEach(async () => {
  for (const { nodes, bus } of opened.splice(0)) {
    await bus.close();
    await nodes.close();
  }
  for (const proxy of proxies.splice(0)) await proxy.close();
});

describe("createRedisBus", () => {
  it("hears channels subscribed while its connection is still starting (between connect and ready)", async () => {
    await ensureRedisNodes([6379]);
    const prefix = randomPrefix("bus");
    const { nodes, bus } = open("redis://127.0.0.1:6379", prefix);
    const got: string[] = [];
    // A replica subscribes its caches while it starts, whenever that falls.
    // Before the fix this window made ioredis's ready check fail in subscriber
    // mode, and the reconnect dropped the subscriptions for good.
    nodes.subscriber.once("connect", () => {
      bus.subscribe("sessions", (m) => got.push(m));
      bus.subscribe("rooms", (m) => got.push(m));
    });
    expect(await heard(prefix, "sessions", "session:t:s", got)).toBe(true);
    expect(await heard(prefix, "rooms", "room:t:r", got)).toBe(true);
  });

  it("hears again after its connection to Redis was cut and came back", async () => {
    await ensureRedisNodes([6379]);
    const proxy = await startTcpProxy("127.0.0.1", 6379);
    proxies.push(proxy);
    const prefix = randomPrefix("bus");
    const { bus } = open(`redis://127.0.0.1:${proxy.port}`, prefix);
    const got: string[] = [];
    bus.subscribe("sessions", (m) => got.push(m));
    expect(await heard(prefix, "sessions", "before", got)).toBe(true);
    proxy.cut();
    await sleep(300);
    proxy.restore();
    expect(await heard(prefix, "sessions", "after", got)).toBe(true);
  });

  it("delivers its own publications locally at once, even with Redis unreachable", async () => {
    const proxy = await startTcpProxy("127.0.0.1", 6379);
    proxies.push(proxy);
    proxy.cut();
    const { bus } = open(`redis://127.0.0.1:${proxy.port}`, randomPrefix("bus"));
    const got: string[] = [];
    bus.subscribe("sessions", (m) => got.push(m));
    await bus.publish("sessions", "local");
    expect(got).toEqual(["local"]);
  });
});
