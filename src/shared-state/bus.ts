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
  // Resubscribe after a reconnect: ioredis does it itself (autoResubscribe).
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
        nodes.subscriber.subscribe(prefix + channel).catch((err: Error) => {
          logger.warn({ channel, err: err.message }, "bus subscribe failed");
        });
      }
      local.on(channel, handler);
      return () => local.off(channel, handler);
    },
    async close() {
      local.removeAllListeners();
    },
  };
}
