import { EventEmitter } from "node:events";
import type { RedisNodes } from "./redis-nodes.js";
import type { Logger } from "../logger.js";

/**
 * Bus carries invalidations between replicas (session revoked, user or role
 * changed, rules changed). Over Redis pub/sub when configured, in-process
 * otherwise. Delivery is best effort: consumers also bound their caches by a
 * short TTL, so a lost message delays an invalidation, never loses it.
 */
export interface Bus {
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, handler: (message: string) => void): () => void;
  close(): Promise<void>;
}

/** createLocalBus is the in-process bus of the embedded mode. */
export function createLocalBus(): Bus {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    async publish(channel, message) {
      emitter.emit(channel, message);
    },
    subscribe(channel, handler) {
      emitter.on(channel, handler);
      return () => emitter.off(channel, handler);
    },
    async close() {
      emitter.removeAllListeners();
    },
  };
}

/** createRedisBus publishes through the primary Redis node. */
export function createRedisBus(nodes: RedisNodes, prefix: string, logger: Logger): Bus {
  const local = new EventEmitter();
  local.setMaxListeners(0);
  const subscribed = new Set<string>();
  nodes.subscriber.on("message", (channel: string, message: string) => {
    local.emit(channel.slice(prefix.length), message);
  });
  const subscribe = (channel: string) =>
    nodes.subscriber.subscribe(prefix + channel).catch((err: Error) => {
      logger.warn({ channel, err: err.message }, "bus subscribe failed");
    });
  // Resubscribe every channel whenever the connection is (again) ready.
  // ioredis resubscribes by itself after a reconnect, but not always: a
  // SUBSCRIBE made between TCP connect and ready (a replica subscribing its
  // caches while it starts) is written at once, so the ready check's INFO
  // finds the connection in subscriber mode, fails, and the reconnect that
  // follows has forgotten the channel. Such a replica never heard another's
  // invalidations again (only its cache TTLs bounded staleness: a logout or
  // a role change took a second there). SUBSCRIBE to a subscribed channel
  // is harmless.
  nodes.subscriber.on("ready", () => {
    for (const channel of subscribed) void subscribe(channel);
  });
  return {
    async publish(channel, message) {
      // Deliver locally at once so this replica never waits on Redis; the
      // echo from Redis arrives later and handlers are idempotent.
      local.emit(channel, message);
      try {
        await nodes.primary.publish(prefix + channel, message);
      } catch (err) {
        logger.warn({ channel, err: (err as Error).message }, "bus publish failed");
      }
    },
    subscribe(channel, handler) {
      if (!subscribed.has(channel)) {
        subscribed.add(channel);
        void subscribe(channel);
      }
      local.on(channel, handler);
      return () => local.off(channel, handler);
    },
    async close() {
      local.removeAllListeners();
    },
  };
}
