import { Level, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import type { Principal } from "../context.js";
import { invalidArgument } from "../domain/errors.js";
import type { Bus } from "../shared-state/bus.js";
import type { Database } from "../store/database.js";
import { ormRoomStore, type RoomStore } from "../store/rooms.js";
import { isUuid } from "../domain/ids.js";

/**
 * roomsChannel is the bus channel of room invalidations:
 * `member:<tenant>:<room>:<user>` when a membership changes and
 * `room:<tenant>:<room>` when a room is deleted.
 */
export const roomsChannel = "rooms";

/** RoomChange names what a rooms write changed, for invalidation. */
export type RoomChange = { kind: "member"; tenantId: string; roomId: string; userId: string } | { kind: "room"; tenantId: string; roomId: string };

/** publishRoomChange tells every replica (this one at once) to drop what `change` affects. Call it after commit. */
export function publishRoomChange(bus: Bus, change: RoomChange): Promise<void> {
  return bus.publish(
    roomsChannel,
    change.kind === "member" ? `member:${change.tenantId}:${change.roomId}:${change.userId}` : `room:${change.tenantId}:${change.roomId}`,
  );
}

/**
 * CachedRoomAccess answers the authz interceptor's RoomAccess (declared
 * here by shape: infrastructure does not import interceptors), with its
 * cache's lifecycle.
 */
export interface CachedRoomAccess {
  /** roleOf answers the principal's role in a room of its tenant; undefined when the tenant has no such room. */
  roleOf(principal: Principal, roomId: string): Promise<RoomRole | undefined>;
  /** close stops listening to the bus. */
  close(): void;
}

/** RoomAccessOptions tune createRoomAccess. */
export interface RoomAccessOptions {
  /** ttlMs bounds how long a looked-up role is used (default 1000). */
  ttlMs?: number;
  /** now is the clock (tests). */
  now?: () => number;
  /** store reads rooms and memberships (default: the MikroORM store). */
  store?: RoomStore;
}


interface Entry {
  /** exists is false when the tenant has no such room. */
  exists: boolean;
  role: RoomRole;
  at: number;
}

/**
 * createRoomAccess answers a principal's role in a room of its own tenant:
 *
 * - a room-token principal has its token's role in its one room, and no
 *   room at all elsewhere (NOT_FOUND, as for another tenant's room);
 * - a user with level ADMIN or above acts as ROOM_ROLE_ADMIN in every room
 *   of their tenant (tenant admins administer their tenant's rooms without
 *   being members; GOD and SUPERGOD only in their own `default` tenant);
 * - anyone else has their membership's role, or ROOM_ROLE_UNSPECIFIED when
 *   they are no member.
 *
 * A room of another tenant is invisible (row-level security): undefined.
 * Lookups are cached per (tenant, room, user) for at most `ttlMs` (1 s);
 * membership changes and room deletions drop the entries on every replica
 * through the bus at once.
 */
export function createRoomAccess(db: Database, bus: Bus, options: RoomAccessOptions = {}): CachedRoomAccess {
  const ttlMs = options.ttlMs ?? 1000;
  const now = options.now ?? Date.now;
  const store = options.store ?? ormRoomStore;
  const cache = new Map<string, Entry>();
  const loading = new Map<string, { generation: number; entry: Promise<Entry> }>();
  let generation = 0;

  const unsubscribe = bus.subscribe(roomsChannel, (message) => {
    const [kind, tenantId, roomId, userId] = message.split(":");
    generation += 1;
    if (kind === "member") {
      cache.delete(`${tenantId}:${roomId}:${userId}`);
    } else if (kind === "room") {
      const prefix = `${tenantId}:${roomId}:`;
      for (const key of cache.keys()) if (key.startsWith(prefix)) cache.delete(key);
    }
  });

  async function lookup(principal: Principal, roomId: string): Promise<Entry> {
    const key = `${principal.tenantId}:${roomId}:${principal.userId}`;
    const hit = cache.get(key);
    const t = now();
    if (hit && t - hit.at < ttlMs) return hit;
    // One lookup in flight per key and generation: when an entry expires
    // under load, the calls waiting on it share one read (not one transaction
    // each); a call after an invalidation never joins a read made before it.
    const flight = loading.get(key);
    if (flight && flight.generation === generation) return flight.entry;
    const entry = read(principal, roomId, key, t);
    loading.set(key, { generation, entry });
    try {
      return await entry;
    } finally {
      if (loading.get(key)?.entry === entry) loading.delete(key);
    }
  }

  async function read(principal: Principal, roomId: string, key: string, t: number): Promise<Entry> {
    const started = generation;
    const found = await db.inTenant(principal.tenantId, (tx) => store.access(tx, roomId, principal.userId));
    const entry: Entry = { exists: found.exists, role: (found.role ?? RoomRole.UNSPECIFIED) as RoomRole, at: t };
    if (started === generation) {
      if (cache.size >= 100_000) cache.clear();
      cache.set(key, entry);
    }
    return entry;
  }

  return {
    async roleOf(principal, roomId) {
      if (!isUuid(roomId)) throw invalidArgument("room_id", "must be a uuid", roomId.slice(0, 64));
      const room = roomId.toLowerCase();
      if (principal.roomToken) return principal.roomToken.roomId === room ? (principal.roomToken.role as RoomRole) : undefined;
      if (!isUuid(principal.userId)) return undefined;
      const entry = await lookup(principal, room);
      if (!entry.exists) return undefined;
      if (principal.level >= Level.ADMIN) return RoomRole.ADMIN;
      return entry.role;
    },
    close() {
      unsubscribe();
      cache.clear();
    },
  };
}
