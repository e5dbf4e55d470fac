import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { Level, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import type { RoomTokenResolver } from "../auth/authenticator.js";
import type { Principal } from "../context.js";
import { DomainError, permissionDenied } from "../domain/errors.js";
import { builtInRoles } from "../domain/permissions.js";
import type { EffectivePolicies } from "../policies/effective-policy.js";
import type { Bus } from "../shared-state/bus.js";
import type { Database } from "../store/database.js";
import { ormRoomStore, type RoomStore } from "../store/rooms.js";
import { roomsChannel } from "./room-access.js";
import { isUuid } from "../domain/ids.js";

/**
 * Legacy room tokens (docs/concepts.md), the share-link credentials of
 * EtherCalc-style hosts, sent as `x-room-token` metadata:
 *
 * - editor token: base64url(HMAC-SHA256(room key, `<tenant_id>:<room_id>`)),
 *   where the room key is 32 random bytes made with the room and never
 *   returned (GetRoomToken answers the derived token only);
 * - viewer token: the literal `0`.
 *
 * A token is accepted only on a call whose request names that room in
 * `room_id`, only while the room's own policy layer sets `allow_room_tokens`
 * true and the global policy permits it (roomTokenAdmission), and it grants that room only, with the permissions of
 * the tenant's built-in `editor` or `viewer` role. The editor token is
 * compared in constant time.
 */

/** viewerRoomToken is the viewer token of every room. */
export const viewerRoomToken = "0";

/** newRoomTokenKey makes a room's HMAC key. */
export function newRoomTokenKey(): Buffer {
  return randomBytes(32);
}

/** editorRoomToken derives a room's editor token from its key. */
export function editorRoomToken(key: Uint8Array, tenantId: string, roomId: string): string {
  return createHmac("sha256", key).update(`${tenantId}:${roomId}`).digest("base64url");
}

/** sameToken compares two tokens in constant time (over their SHA-256, so lengths leak nothing). */
function sameToken(presented: string, expected: string): boolean {
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** roomTokenActor is the user id and name a room-token principal acts (and is audited) as. */
export function roomTokenActor(roomId: string): string {
  // Not a uuid, so it can never be a user's id; the audit log stores it as
  // actor_name (actor_id stays empty).
  return `room-token:${roomId}`;
}

/** RoomTokenResolverOptions tune createRoomTokenResolver. */
export interface RoomTokenResolverOptions {
  /** ttlMs bounds how long a room's key and roles are cached (default 1000). */
  ttlMs?: number;
  /** now is the clock (tests). */
  now?: () => number;
  /** store reads the room (default: the MikroORM store). */
  store?: RoomStore;
}

/** CachedRoomTokenResolver is the resolver with its cache's lifecycle. */
export interface CachedRoomTokenResolver {
  resolve: RoomTokenResolver;
  /**
   * knows tells, without the database, whether the request names a room this
   * replica has already found (and not seen deleted): a token for it costs
   * at most the one lookup a second that refreshes the room's cached entry.
   * The failed-authentication limit lets only such calls through once a
   * client is over it.
   */
  knows(message: unknown): boolean;
  close(): void;
}

interface RoomEntry {
  tenantId: string;
  key: Buffer;
  permissions: Record<"viewer" | "editor", ReadonlySet<string>>;
  at: number;
}

const refused = (message: string) => new DomainError("unauthenticated", "INVALID_ROOM_TOKEN", message);
const builtInPermissions = (name: string): string[] => [...(builtInRoles.find((role) => role.name === name)?.permissions ?? [])];

/**
 * createRoomTokenResolver resolves `x-room-token` for the authenticator.
 * The room is looked up by id across tenants (a system read, as for a login
 * by tenant name: the token carries no tenant), then everything else runs in
 * the room's tenant. Failures: UNAUTHENTICATED `INVALID_ROOM_TOKEN` (no
 * room_id in the request, no such room, wrong token, or the viewer token of
 * a room that does not accept tokens: the same answer whether the room
 * exists or not); PERMISSION_DENIED `ROOM_TOKENS_DISABLED` (a genuine editor
 * token while the room's policy says no, with the field and deciding layer).
 */
export function createRoomTokenResolver(db: Database, policies: EffectivePolicies, bus: Bus, options: RoomTokenResolverOptions = {}): CachedRoomTokenResolver {
  const ttlMs = options.ttlMs ?? 1000;
  const now = options.now ?? Date.now;
  const store = options.store ?? ormRoomStore;
  const rooms = new Map<string, RoomEntry>();
  const decoyKey = randomBytes(32);
  const unsubscribe = bus.subscribe(roomsChannel, (message) => {
    const [kind, , roomId] = message.split(":");
    if (kind === "room" && roomId) rooms.delete(roomId);
  });

  async function room(roomId: string): Promise<RoomEntry | undefined> {
    const hit = rooms.get(roomId);
    if (hit && now() - hit.at < ttlMs) return hit;
    const at = now();
    const row = await db.asSystem((tx) => store.tokenRoom(tx, roomId));
    if (!row) return undefined;
    const entry: RoomEntry = {
      tenantId: row.tenantId,
      key: row.tokenKey,
      permissions: {
        viewer: new Set(row.viewerPermissions ?? builtInPermissions("viewer")),
        editor: new Set(row.editorPermissions ?? builtInPermissions("editor")),
      },
      at,
    };
    if (rooms.size >= 50_000) rooms.clear();
    rooms.set(roomId, entry);
    return entry;
  }

  const resolve: RoomTokenResolver = async (token, message) => {
    const requested = message !== null && typeof message === "object" ? (message as { roomId?: unknown }).roomId : undefined;
    if (typeof requested !== "string" || !isUuid(requested)) {
      throw refused("a room token is accepted only on calls about its room (room_id)");
    }
    const roomId = requested.toLowerCase();
    if (token !== viewerRoomToken && !/^[A-Za-z0-9_-]{43}$/.test(token)) throw refused("invalid room token");
    const entry = await room(roomId);
    let role: RoomRole;
    if (token === viewerRoomToken) {
      role = RoomRole.VIEWER;
    } else {
      // Same work whether the room exists or not.
      const expected = editorRoomToken(entry?.key ?? decoyKey, entry?.tenantId ?? "", roomId);
      if (!sameToken(token, expected) || !entry) throw refused("invalid room token");
      role = RoomRole.EDITOR;
    }
    if (!entry) throw refused("invalid room token");
    // Opt-in per room: the room's own allow_room_tokens, under the global ceiling.
    const admission = await db.inTenant(entry.tenantId, (em) => policies.roomTokenAdmission(em, entry.tenantId, roomId));
    if (!admission.accepted) {
      if (role === RoomRole.VIEWER) throw refused("invalid room token");
      throw permissionDenied("ROOM_TOKENS_DISABLED", "this room does not accept room tokens (its own allow_room_tokens must be true)", {
        field: "allow_room_tokens",
        attemptedValue: "true",
        parentValue: admission.value,
        layer: admission.layer,
      });
    }
    const roleName = role === RoomRole.EDITOR ? "editor" : "viewer";
    const actor = roomTokenActor(roomId);
    const principal: Principal = {
      userId: actor,
      username: actor,
      tenantId: entry.tenantId,
      level: Level.GUEST,
      sessionId: "",
      permissions: entry.permissions[roleName],
      roles: [roleName],
      via: "room-token",
      roomToken: { roomId, role },
    };
    return principal;
  };

  return {
    resolve,
    knows(message) {
      const requested = message !== null && typeof message === "object" ? (message as { roomId?: unknown }).roomId : undefined;
      return typeof requested === "string" && isUuid(requested) && rooms.has(requested.toLowerCase());
    },
    close() {
      unsubscribe();
      rooms.clear();
    },
  };
}
