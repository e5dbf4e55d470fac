import { randomBytes } from "node:crypto";
import type { Database } from "../../src/store/database.js";

/** SeededRoom is a tenant with one room (and a user) for store conformance suites. */
export interface SeededRoom {
  tenantId: string;
  roomId: string;
  userId: string;
}

let seeded = 0;

/**
 * seedRoom inserts a fresh tenant, a user and a room directly (as the
 * system role), so a store's suite needs no other store to exist.
 */
export async function seedRoom(db: Database): Promise<SeededRoom> {
  const suffix = `${process.pid}-${++seeded}-${randomBytes(3).toString("hex")}`;
  return db.asSystem(async (em) => {
    const [tenant] = (await em.execute("insert into tenants (name) values (?) returning id", [`seed-${suffix}`])) as Array<{ id: string }>;
    const tenantId = tenant!.id;
    const [user] = (await em.execute("insert into users (tenant_id, username, password_hash, level) values (?, ?, 'x', 3) returning id", [tenantId, `seed-${suffix}`])) as Array<{ id: string }>;
    const [room] = (await em.execute("insert into rooms (tenant_id, name, token_key) values (?, ?, ?) returning id", [tenantId, `room-${suffix}`, randomBytes(32)])) as Array<{ id: string }>;
    return { tenantId, roomId: room!.id, userId: user!.id };
  });
}
