import type { StoreEntityManager } from "./orm.js";

/** RoomContentCounts are the counts of what is deleted with a room. */
export interface RoomContentCounts {
  members: number;
  macros: number;
  repos: number;
  records: bigint;
}

/**
 * countRoomContents counts a room's members, macros, repos and stored
 * records (what DeleteRoom takes with it), in one statement so the counts
 * are of one snapshot. Runs in the caller's tenant-scoped transaction.
 */
export async function countRoomContents(em: StoreEntityManager, roomId: string): Promise<RoomContentCounts> {
  const rows = (await em.execute(
    `select
       (select count(*) from room_members where room_id = ?)::int as members,
       (select count(*) from macros where room_id = ?)::int as macros,
       (select count(*) from repos where room_id = ?)::int as repos,
       (select count(*) from store_records where room_id = ?)::text as records`,
    [roomId, roomId, roomId, roomId],
  )) as Array<{ members: number; macros: number; repos: number; records: string }>;
  const row = rows[0];
  return { members: row?.members ?? 0, macros: row?.macros ?? 0, repos: row?.repos ?? 0, records: BigInt(row?.records ?? "0") };
}
