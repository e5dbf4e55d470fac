import { describe, expect, it } from "vitest";
import { roomTokenAdmission } from "../../src/domain/policy-merge.js";

describe("roomTokenAdmission", () => {
  it("accepts only a room that opted in under a global policy that permits it", () => {
    expect(roomTokenAdmission({ allowRoomTokens: true }, { allowRoomTokens: true })).toEqual({ accepted: true, layer: "", value: "true" });
  });

  it("refuses a room that has not opted in, whatever the global policy says", () => {
    expect(roomTokenAdmission({ allowRoomTokens: true }, {})).toEqual({ accepted: false, layer: "room", value: "unset" });
    expect(roomTokenAdmission({ allowRoomTokens: true }, { allowRoomTokens: false })).toEqual({ accepted: false, layer: "room", value: "false" });
  });

  it("refuses every room when the global policy (or, unset, the built-in default) forbids tokens", () => {
    expect(roomTokenAdmission({ allowRoomTokens: false }, { allowRoomTokens: true })).toEqual({ accepted: false, layer: "global", value: "false" });
    expect(roomTokenAdmission({}, { allowRoomTokens: true })).toEqual({ accepted: false, layer: "default", value: "false" });
  });
});
