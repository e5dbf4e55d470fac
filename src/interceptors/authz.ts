import type { Interceptor } from "@connectrpc/connect";
import { Level, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { kCheckedRoom, kPrincipal, type Principal } from "../context.js";
import { DomainError, invalidArgument, permissionDenied } from "../domain/errors.js";
import { accessRuleOf, roomFieldOf, roomIdOf } from "./access-rules.js";
import { isInfrastructure } from "./authn.js";

/**
 * RoomAccess answers a principal's role in a room of its tenant: undefined
 * when the room does not exist in that tenant (the caller then gets
 * NOT_FOUND, as for any other tenant's id), ROOM_ROLE_UNSPECIFIED when it
 * exists but the principal is no member.
 */
export interface RoomAccess {
  roleOf(principal: Principal, roomId: string): Promise<RoomRole | undefined>;
}

/**
 * createAuthzInterceptor enforces each method's `(gatehouse.v1.access)`
 * rule: deny by default (no rule → refused), then level, permission and room
 * role (in the room named by the rule's room_field). grpc.* infrastructure
 * services are let through.
 */
export function createAuthzInterceptor(rooms: RoomAccess): Interceptor {
  return (next) => async (req) => {
    if (isInfrastructure(req.service.typeName)) return next(req);
    const rule = accessRuleOf(req.method);
    if (!rule) {
      throw permissionDenied("NO_ACCESS_RULE", `${req.method.name} has no access rule and is refused`);
    }
    if (rule.public) return next(req);
    const principal = req.contextValues.get(kPrincipal);
    if (!principal) throw new DomainError("unauthenticated", "UNAUTHENTICATED", "credentials required");
    if (rule.minLevel !== Level.UNSPECIFIED && principal.level < rule.minLevel) {
      throw permissionDenied("LEVEL_TOO_LOW", `${req.method.name} needs level ${Level[rule.minLevel]} or higher`, {
        layer: "level",
        attemptedValue: Level[principal.level],
        parentValue: Level[rule.minLevel],
      });
    }
    if (rule.permission !== "" && !principal.permissions.has(rule.permission)) {
      throw permissionDenied("PERMISSION_DENIED", `${req.method.name} needs permission ${rule.permission}`, {
        permission: rule.permission,
        layer: "role",
      });
    }
    if (rule.roomRole !== RoomRole.UNSPECIFIED) {
      const field = roomFieldOf(req.method);
      if (field === undefined) throw new Error(`${req.method.name} has room_role but no room_field`);
      const roomId = req.stream ? undefined : roomIdOf(req.method, req.message);
      if (roomId === undefined) throw invalidArgument(field.name, "is required");
      const role = await rooms.roleOf(principal, roomId);
      if (role === undefined) throw new DomainError("not_found", "NOT_FOUND", "room not found");
      if (role < rule.roomRole) {
        throw permissionDenied("ROOM_ROLE_REQUIRED", `${req.method.name} needs room role ${RoomRole[rule.roomRole]}`, {
          layer: "room",
          field: field.name,
          attemptedValue: RoomRole[role],
          parentValue: RoomRole[rule.roomRole],
        });
      }
      req.contextValues.set(kCheckedRoom, { roomId, role });
    }
    return next(req);
  };
}
