import { RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import type { Principal } from "../context.js";
import type { RoomAccess } from "../interceptors/authz.js";
import type { Database } from "../store/database.js";

/**
 * createRoomAccess answers a principal's role in a room. Rooms are not built
 * yet (issue 4): until then no room exists, so every room-scoped method
 * answers NOT_FOUND.
 */
export function createRoomAccess(db: Database): RoomAccess {
  void db;
  return {
    async roleOf(principal: Principal, roomId: string): Promise<RoomRole | undefined> {
      if (principal.roomToken) return principal.roomToken.roomId === roomId ? principal.roomToken.role : undefined;
      return undefined;
    },
  };
}
