import type { PolicyValues } from "../../../src/domain/policy.js";
import type { PolicyStore, RoleDefault } from "../../../src/store/policies.js";

/**
 * MemoryPolicyStore is PolicyStore in memory, for use-case tests: one
 * tenant's layers, the rooms and users that exist, and role defaults.
 */
export interface MemoryPolicyStore extends PolicyStore {
  globalLayer: PolicyValues;
  /** globalWritable is false to act as a tenant that is not the platform's. */
  globalWritable: boolean;
  rooms: Map<string, PolicyValues>;
  macros: Map<string, { policy: PolicyValues; fencingToken: bigint }>;
  /** users maps a user id to their override (undefined: none) and role names. */
  users: Map<string, { override: PolicyValues | undefined; roles: string[] }>;
  roles: Map<string, PolicyValues>;
}

/** memoryPolicyStore builds a MemoryPolicyStore with an empty global layer. */
export function memoryPolicyStore(): MemoryPolicyStore {
  const store: MemoryPolicyStore = {
    globalLayer: {},
    globalWritable: true,
    rooms: new Map(),
    macros: new Map(),
    users: new Map(),
    roles: new Map(),
    async global() {
      return store.globalLayer;
    },
    async putGlobal(_tx, policy) {
      if (!store.globalWritable) return false;
      store.globalLayer = policy;
      return true;
    },
    async roomLayer(_tx, _tenantId, roomId) {
      return store.rooms.get(roomId);
    },
    async putRoomLayer(_tx, roomId, layer) {
      if (!store.rooms.has(roomId)) throw new Error("foreign key");
      store.rooms.set(roomId, layer.policy);
    },
    async macroLayer(_tx, _tenantId, roomId, macroId) {
      return store.macros.get(`${roomId}:${macroId}`)?.policy ?? {};
    },
    async lockMacroLayer(_tx, roomId, macroId) {
      const row = store.macros.get(`${roomId}:${macroId}`);
      return row ? { policy: row.policy, fencingToken: row.fencingToken } : { policy: undefined, fencingToken: 0n };
    },
    async putMacroLayer(_tx, roomId, macroId, layer) {
      store.macros.set(`${roomId}:${macroId}`, { policy: layer.policy, fencingToken: layer.fencingToken });
    },
    async userOverride(_tx, _tenantId, userId) {
      const user = store.users.get(userId);
      return user ? { override: user.override } : undefined;
    },
    async lockUserOverride(_tx, userId) {
      return store.users.get(userId)?.override;
    },
    async putUserOverride(_tx, userId, layer) {
      const user = store.users.get(userId);
      if (!user) throw new Error("foreign key");
      user.override = layer.policy;
    },
    async deleteUserOverride(_tx, userId) {
      const user = store.users.get(userId);
      const before = user?.override;
      if (user) user.override = undefined;
      return before;
    },
    async userLayer(_tx, _tenantId, userId) {
      const user = store.users.get(userId);
      if (!user) return undefined;
      return { override: user.override, roles: defaults(user.roles) };
    },
    async roleDefaults(_tx, _tenantId, names) {
      return defaults(names);
    },
  };
  const defaults = (names: readonly string[]): RoleDefault[] =>
    [...new Set(names)]
      .filter((name) => store.roles.has(name))
      .sort()
      .map((name) => ({ name, policy: store.roles.get(name)! }));
  return store;
}
