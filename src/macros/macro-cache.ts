import type { Bus } from "../shared-state/bus.js";
import type { MacroRecord } from "../store/macros.js";

/** macrosChannel carries `<tenantId>:<roomId>` of rooms whose macros changed. */
export const macrosChannel = "macros";

/**
 * MacroCache keeps the macros that were just run, so a run does not need a
 * transaction to load its macro again. Entries live at most `ttlMs` and are
 * dropped on every replica when a room's macros change (UpdateMacros,
 * DeleteMacro, SyncRepo, DeleteRepo, DeleteRoom publish after commit); a
 * lost broadcast delays a change by at most `ttlMs`.
 */
export interface MacroCache {
  get(tenantId: string, roomId: string, macroId: string): MacroRecord | undefined;
  /** epoch is taken before loading a row; set caches it only if no change came since. */
  epoch(tenantId: string, roomId: string): number;
  set(row: MacroRecord, epoch: number): void;
  /** roomChanged drops the room's macros here at once and on the other replicas. */
  roomChanged(tenantId: string, roomId: string): Promise<void>;
  close(): void;
}

/** createMacroCache builds the cache over the invalidation bus. */
export function createMacroCache(bus: Bus, options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {}): MacroCache {
  const ttlMs = options.ttlMs ?? 1000;
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { row: MacroRecord; at: number; epoch: number }>();
  // A change bumps the room's epoch, so a load that raced it is not cached.
  const epochs = new Map<string, number>();
  const roomKey = (tenantId: string, roomId: string) => `${tenantId}:${roomId}`;
  const drop = (room: string) => {
    epochs.set(room, (epochs.get(room) ?? 0) + 1);
    for (const key of entries.keys()) if (key.startsWith(`${room}:`)) entries.delete(key);
  };
  const unsubscribe = bus.subscribe(macrosChannel, drop);
  return {
    get(tenantId, roomId, macroId) {
      const room = roomKey(tenantId, roomId);
      const hit = entries.get(`${room}:${macroId}`);
      if (!hit) return undefined;
      if (now() - hit.at >= ttlMs || hit.epoch !== (epochs.get(room) ?? 0)) {
        entries.delete(`${room}:${macroId}`);
        return undefined;
      }
      return hit.row;
    },
    epoch(tenantId, roomId) {
      return epochs.get(roomKey(tenantId, roomId)) ?? 0;
    },
    set(row, epoch) {
      const room = roomKey(row.tenantId, row.roomId);
      if (epoch !== (epochs.get(room) ?? 0)) return;
      if (entries.size >= maxEntries) entries.clear();
      entries.set(`${room}:${row.id}`, { row, at: now(), epoch });
    },
    async roomChanged(tenantId, roomId) {
      const room = roomKey(tenantId, roomId);
      drop(room);
      await bus.publish(macrosChannel, room);
    },
    close() {
      unsubscribe();
      entries.clear();
    },
  };
}
