import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { RunMacroRequestSchema, MacrosService } from "../../gen/gatehouse/v1/macros_pb.js";
import { RulesService, ListRulesRequestSchema } from "../../gen/gatehouse/v1/rules_pb.js";
import { CheckPermissionRequestSchema, UsersService } from "../../gen/gatehouse/v1/users_pb.js";
import { accessRuleOf, roomFieldOf, roomIdOf } from "../../src/interceptors/access-rules.js";
import { gatehouseServices } from "../../src/routes.js";

const methods = gatehouseServices.flatMap((service) => service.methods);

describe("AccessRule.room_field", () => {
  it("is set on every method that acts on a room, and names a string field of its request", () => {
    const missing: string[] = [];
    for (const method of methods) {
      const rule = accessRuleOf(method)!;
      const name = `${method.parent.name}.${method.name}`;
      const hasRoomId = method.input.fields.some((f) => f.name === "room_id");
      if ((rule.roomRole !== RoomRole.UNSPECIFIED || hasRoomId) && rule.roomField === "") missing.push(name);
      if (rule.roomField !== "") expect(roomFieldOf(method)?.name, name).toBe(rule.roomField);
    }
    expect(missing).toEqual([]);
    expect(methods.filter((m) => accessRuleOf(m)!.roomField !== "").length).toBeGreaterThanOrEqual(29);
  });

  it("is where the room is read from, and nowhere else", () => {
    const roomId = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    expect(roomIdOf(MacrosService.method.runMacro, create(RunMacroRequestSchema, { roomId }))).toBe(roomId);
    expect(roomIdOf(MacrosService.method.runMacro, create(RunMacroRequestSchema, {}))).toBeUndefined();
    expect(roomIdOf(UsersService.method.checkPermission, create(CheckPermissionRequestSchema, { roomId }))).toBe(roomId);
    // A method that acts on no room has none, whatever its message carries.
    expect(roomFieldOf(RulesService.method.listRules)).toBeUndefined();
    expect(roomIdOf(RulesService.method.listRules, { ...create(ListRulesRequestSchema, {}), roomId })).toBeUndefined();
  });
});
