import type { RoomStore } from "../../store/rooms.js";
import type { Tx } from "../../store/tx.js";

/**
 * RoomEvents tell every replica what a committed rooms write changed: room
 * roles cached by RoomAccess and the room token resolver, and the room's
 * cached macros. Use cases call them through `call.afterCommit`.
 */
export interface RoomEvents {
  memberChanged(tenantId: string, roomId: string, userId: string): Promise<void>;
  roomDeleted(tenantId: string, roomId: string): Promise<void>;
}

/** RoomContentCounts are the counts of what is deleted with a room. */
export interface RoomContentCounts {
  members: number;
  macros: number;
  repos: number;
  records: bigint;
}

/** RoomContents counts a room's contents in the caller's transaction (one snapshot). */
export interface RoomContents {
  count(tx: Tx, roomId: string): Promise<RoomContentCounts>;
}

/** RoomsDeps are what the rooms use cases need. */
export interface RoomsDeps {
  rooms: RoomStore;
  events: RoomEvents;
  /** contents, when given, lets GetRoom answer a room ADMIN what DeleteRoom would take with the room. */
  contents?: RoomContents;
}

/** Page is one page of a list and the cursor of the next, if there is more. */
export interface Page<T> {
  items: T[];
  /** next is the sort key to continue after; undefined on the last page. */
  next: string | undefined;
}

/** PageInput asks for at most `limit` items after the cursor `after`. */
export interface PageInput {
  limit: number;
  after: string | undefined;
}

/** pageOfRows cuts `limit + 1` rows to a page, the extra row telling that there is more. */
export function pageOfRows<T>(rows: T[], limit: number, keyOf: (row: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? keyOf(items[items.length - 1]!) : undefined };
}
