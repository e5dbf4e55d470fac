import { notFound } from "../domain/errors.js";
import { mergePolicies, roomTokenAdmission, type MergedPolicy, type PolicyLayer, type RoomTokenAdmission } from "../domain/policy-merge.js";
import type { PolicyValues } from "../domain/policy.js";
import type { Bus } from "../shared-state/bus.js";
import { ormPolicyStore, type PolicyStore, type RoleDefault, type UserLayer } from "../store/policies.js";
import type { Tx } from "../store/tx.js";
import { isUuid } from "../domain/ids.js";

/**
 * The policy layers as stored, and the effective policy of a run, cached per
 * replica with invalidation through the bus (docs/concepts.md).
 *
 * Layers: global (platform-wide, one row) → room → macro → user (the user's
 * override, else the default policies of the user's roles). The merge itself
 * is the pure mergePolicies (src/domain/policy-merge.ts).
 *
 * Caching: each layer and each merged answer is kept for at most `ttlMs`
 * (1 s by default). Every write of a layer publishes on the bus channel
 * `policies` (after its transaction commits), and every replica drops what
 * it depends on at once; the TTL bounds staleness when a message is lost or
 * when a change arrives from elsewhere (a role's default policy or a user's
 * roles change: the `sessions` channel's `user:`/`tenant:` messages are
 * honoured too). A load that raced with an invalidation is not cached.
 */

/** PolicyQuery says whose effective policy to compute. */
export interface PolicyQuery {
  tenantId: string;
  roomId: string;
  /** macroId adds that macro's layer. */
  macroId?: string;
  /** userId adds that user's layer: their override, else their roles' default policies. */
  userId?: string;
  /**
   * roles, when userId is unset, adds the default policies of these roles of
   * the tenant: the user layer of a principal without a user row (a room
   * token acts with the built-in `viewer` or `editor` role).
   */
  roles?: readonly string[];
}

export type { RoleDefault, UserLayer };

/** PolicyChange names what a write changed, for invalidation. */
export type PolicyChange =
  | { kind: "global" }
  | { kind: "room"; tenantId: string; roomId: string }
  | { kind: "macro"; tenantId: string; roomId: string; macroId: string }
  | { kind: "user"; tenantId: string; userId: string }
  | { kind: "tenant"; tenantId: string };

/** EffectivePolicies reads policy layers and merges them, with caches. */
export interface EffectivePolicies {
  /**
   * effectivePolicy merges the layers for a room (and optionally a macro and
   * a user) and says which layer set each field. Pass the caller's
   * tenant-scoped entity manager (it is used only on a cache miss).
   * NOT_FOUND when the room or user does not exist in the tenant. The macro
   * layer is empty when the macro has none (its existence is the macros
   * service's business).
   */
  effectivePolicy(em: Tx, query: PolicyQuery): Promise<MergedPolicy>;
  /** cachedEffectivePolicy answers the merged policy only if it is cached and fresh (no database). */
  cachedEffectivePolicy(query: PolicyQuery): MergedPolicy | undefined;
  /** globalLayer answers the global policy (with its override_ceiling). */
  globalLayer(em: Tx): Promise<PolicyValues>;
  /** roomLayer answers a room's layer (empty when unset); NOT_FOUND when there is no such room. */
  roomLayer(em: Tx, tenantId: string, roomId: string): Promise<PolicyValues>;
  /** macroLayer answers a macro's layer (empty when unset). */
  macroLayer(em: Tx, tenantId: string, roomId: string, macroId: string): Promise<PolicyValues>;
  /**
   * roomTokenAdmission says whether a room accepts room tokens: only when its
   * own layer sets `allow_room_tokens` true and the global policy permits it
   * (see the pure roomTokenAdmission). NOT_FOUND when there is no such room.
   */
  roomTokenAdmission(em: Tx, tenantId: string, roomId: string): Promise<RoomTokenAdmission>;
  /** userLayer answers a user's override and roles' defaults; NOT_FOUND when there is no such user. */
  userLayer(em: Tx, tenantId: string, userId: string): Promise<UserLayer>;
  /** invalidate drops what `change` affects on every replica (this one at once). Call it after commit. */
  invalidate(change: PolicyChange): Promise<void>;
  /** close stops listening to the bus. */
  close(): void;
}

/** EffectivePoliciesOptions tune createEffectivePolicies. */
export interface EffectivePoliciesOptions {
  /** ttlMs bounds how long a cached layer or answer is used (default 1000). */
  ttlMs?: number;
  /** now is the clock (tests). */
  now?: () => number;
  /** maxEntries bounds each cache; a full cache is cleared (default 50,000). */
  maxEntries?: number;
  /** store reads the layers (default: the MikroORM store). */
  store?: PolicyStore;
}

/** policiesChannel is the bus channel of policy invalidations. */
export const policiesChannel = "policies";


interface Entry<V> {
  value: V;
  at: number;
}

/** encodeChange writes a change as a bus message. */
function encodeChange(change: PolicyChange): string {
  switch (change.kind) {
    case "global":
      return "global";
    case "room":
      return `room:${change.tenantId}:${change.roomId}`;
    case "macro":
      return `macro:${change.tenantId}:${change.roomId}:${change.macroId}`;
    case "user":
      return `user:${change.tenantId}:${change.userId}`;
    case "tenant":
      return `tenant:${change.tenantId}`;
  }
}

/**
 * createEffectivePolicies builds the cached layer reader over the bus. One
 * per process (it lives in Deps); the sandbox calls effectivePolicy per run.
 */
export function createEffectivePolicies(bus: Bus, options: EffectivePoliciesOptions = {}): EffectivePolicies {
  const ttlMs = options.ttlMs ?? 1000;
  const now = options.now ?? Date.now;
  const maxEntries = options.maxEntries ?? 50_000;
  const store = options.store ?? ormPolicyStore;

  // epoch counts invalidations: a load that began before one is not cached,
  // and merged answers of an older epoch are stale.
  let epoch = 0;
  let global: (Entry<PolicyValues> & { epoch: number }) | undefined;
  const rooms = new Map<string, Entry<PolicyValues>>();
  const macros = new Map<string, Entry<PolicyValues>>();
  const users = new Map<string, Entry<UserLayer>>();
  const roleSets = new Map<string, Entry<RoleDefault[]>>();
  const merged = new Map<string, Entry<MergedPolicy> & { epoch: number }>();

  const fresh = <V>(entry: Entry<V> | undefined): entry is Entry<V> => entry !== undefined && now() - entry.at < ttlMs;
  const put = <V>(map: Map<string, Entry<V>>, key: string, value: V, startedEpoch: number, at: number) => {
    if (startedEpoch !== epoch) return;
    if (map.size >= maxEntries) map.clear();
    map.set(key, { value, at });
  };
  const dropPrefix = (map: Map<string, unknown>, prefix: string) => {
    for (const key of map.keys()) if (key.startsWith(prefix)) map.delete(key);
  };

  const apply = (message: string) => {
    const [kind, tenantId, a, b] = message.split(":");
    epoch += 1;
    merged.clear();
    switch (kind) {
      case "global":
        global = undefined;
        break;
      case "room":
        rooms.delete(`${tenantId}:${a}`);
        if (b === "deleted") dropPrefix(macros, `${tenantId}:${a}:`);
        break;
      case "macro":
        macros.delete(`${tenantId}:${a}:${b}`);
        break;
      case "user":
        users.delete(`${tenantId}:${a}`);
        break;
      case "tenant":
        dropPrefix(rooms, `${tenantId}:`);
        dropPrefix(macros, `${tenantId}:`);
        dropPrefix(users, `${tenantId}:`);
        dropPrefix(roleSets, `${tenantId}:`);
        break;
    }
  };
  const unsubscribers = [
    bus.subscribe(policiesChannel, apply),
    // Rooms deleted (rooms channel `room:<tenant>:<room>`).
    bus.subscribe("rooms", (message) => {
      const [kind, tenantId, roomId] = message.split(":");
      if (kind === "room") apply(`room:${tenantId}:${roomId}:deleted`);
    }),
    // A user's roles or a tenant's roles changed (sessions channel).
    bus.subscribe("sessions", (message) => {
      const [kind, tenantId, id] = message.split(":");
      if (kind === "user" && id) apply(`user:${tenantId}:${id}`);
      if (kind === "tenant") apply(`tenant:${tenantId}`);
    }),
  ];

  async function globalLayer(em: Tx): Promise<PolicyValues> {
    if (global !== undefined && global.epoch === epoch && now() - global.at < ttlMs) return global.value;
    const started = epoch;
    const at = now();
    const value = await store.global(em);
    if (started === epoch) global = { value, at, epoch: started };
    return value;
  }

  async function roomLayer(em: Tx, tenantId: string, roomId: string): Promise<PolicyValues> {
    const key = `${tenantId}:${roomId}`;
    const hit = rooms.get(key);
    if (fresh(hit)) return hit.value;
    if (!isUuid(roomId)) throw notFound("room");
    const started = epoch;
    const at = now();
    const value = await store.roomLayer(em, tenantId, roomId);
    if (value === undefined) throw notFound("room");
    put(rooms, key, value, started, at);
    return value;
  }

  async function macroLayer(em: Tx, tenantId: string, roomId: string, macroId: string): Promise<PolicyValues> {
    const key = `${tenantId}:${roomId}:${macroId}`;
    const hit = macros.get(key);
    if (fresh(hit)) return hit.value;
    if (!isUuid(roomId) || !isUuid(macroId)) throw notFound("macro");
    const started = epoch;
    const at = now();
    const value = await store.macroLayer(em, tenantId, roomId, macroId);
    put(macros, key, value, started, at);
    return value;
  }

  async function userLayer(em: Tx, tenantId: string, userId: string): Promise<UserLayer> {
    const key = `${tenantId}:${userId}`;
    const hit = users.get(key);
    if (fresh(hit)) return hit.value;
    if (!isUuid(userId)) throw notFound("user");
    const started = epoch;
    const at = now();
    const value = await store.userLayer(em, tenantId, userId);
    if (value === undefined) throw notFound("user");
    put(users, key, value, started, at);
    return value;
  }

  async function roleDefaults(em: Tx, tenantId: string, names: readonly string[]): Promise<RoleDefault[]> {
    const sorted = [...new Set(names)].sort();
    const key = `${tenantId}:${sorted.join(",")}`;
    const hit = roleSets.get(key);
    if (fresh(hit)) return hit.value;
    const started = epoch;
    const at = now();
    const value = await store.roleDefaults(em, tenantId, sorted);
    put(roleSets, key, value, started, at);
    return value;
  }

  const mergedKey = (query: PolicyQuery) =>
    `${query.tenantId}|${query.roomId}|${query.macroId ?? ""}|${query.userId ?? ""}|${query.userId === undefined ? (query.roles ?? []).join(",") : ""}`;

  function cachedEffectivePolicy(query: PolicyQuery): MergedPolicy | undefined {
    const hit = merged.get(mergedKey(query));
    return hit !== undefined && hit.epoch === epoch && now() - hit.at < ttlMs ? hit.value : undefined;
  }

  async function effectivePolicy(em: Tx, query: PolicyQuery): Promise<MergedPolicy> {
    const key = mergedKey(query);
    const cached = cachedEffectivePolicy(query);
    if (cached !== undefined) return cached;
    const started = epoch;
    const at = now();
    const layers: PolicyLayer[] = [
      { name: "global", policy: await globalLayer(em) },
      { name: "room", policy: await roomLayer(em, query.tenantId, query.roomId) },
    ];
    if (query.macroId !== undefined) layers.push({ name: "macro", policy: await macroLayer(em, query.tenantId, query.roomId, query.macroId) });
    if (query.userId !== undefined) {
      const user = await userLayer(em, query.tenantId, query.userId);
      if (user.override !== undefined) layers.push({ name: "user", policy: user.override });
      else for (const role of user.roles) layers.push({ name: `role:${role.name}`, policy: role.policy });
    } else if (query.roles !== undefined && query.roles.length > 0) {
      for (const role of await roleDefaults(em, query.tenantId, query.roles)) layers.push({ name: `role:${role.name}`, policy: role.policy });
    }
    const value = mergePolicies(layers);
    if (started === epoch) {
      if (merged.size >= maxEntries) merged.clear();
      merged.set(key, { value, at, epoch: started });
    }
    return value;
  }

  return {
    effectivePolicy,
    cachedEffectivePolicy,
    globalLayer,
    roomLayer,
    macroLayer,
    userLayer,
    async roomTokenAdmission(em, tenantId, roomId) {
      return roomTokenAdmission(await globalLayer(em), await roomLayer(em, tenantId, roomId));
    },
    async invalidate(change) {
      await bus.publish(policiesChannel, encodeChange(change));
    },
    close() {
      for (const unsubscribe of unsubscribers) unsubscribe();
      merged.clear();
    },
  };
}
