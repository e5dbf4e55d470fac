import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PolicySchema } from "../../gen/gatehouse/v1/common_pb.js";
import { createUser, refused, type FixtureUser } from "../support/fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * Finding 9 of issue 13: room tokens are opt-in per room. The global
 * `allow_room_tokens` is a ceiling: a room accepts `x-room-token` only when
 * its own layer sets it true and the global policy permits it.
 */

const USER = 2;

describe("room tokens are opt-in per room", () => {
  let server: TestServer;
  let root: string;
  let owner: FixtureUser;

  beforeAll(async () => {
    server = await startTestServer();
    root = await server.login();
    owner = await createUser(server, { level: USER, roles: ["admin"], prefix: "owner" });
  });
  afterAll(async () => {
    await server?.close();
  });

  const setGlobal = (allowRoomTokens: boolean) =>
    server.client({ token: root }).policies.updateGlobalPolicy({ policy: create(PolicySchema, { allowRoomTokens }) });
  const setRoom = (roomId: string, allowRoomTokens: boolean | undefined) =>
    server.client({ token: owner.token }).policies.updateRoomPolicy({ roomId, policy: create(PolicySchema, allowRoomTokens === undefined ? {} : { allowRoomTokens }) });
  const newRoom = async () => {
    const room = (await server.client({ token: owner.token }).rooms.createRoom({ name: `opt-in-${Math.random().toString(36).slice(2, 8)}` })).room!;
    const { editorToken } = await server.client({ token: owner.token }).rooms.getRoomToken({ roomId: room.roomId });
    return { roomId: room.roomId, editorToken };
  };
  const getRoom = (token: string, roomId: string) => server.client({ headers: { "x-room-token": token } }).rooms.getRoom({ roomId });

  it("refuses tokens in a room that has not opted in, even with the global switch on", async () => {
    await setGlobal(true);
    const room = await newRoom();
    const detail = await refused(getRoom(room.editorToken, room.roomId), Code.PermissionDenied, "ROOM_TOKENS_DISABLED");
    expect(detail).toMatchObject({ field: "allow_room_tokens", layer: "room", parentValue: "unset" });
    // The viewer token `0` proves nothing about the room: the answer of a room that does not exist.
    await refused(getRoom("0", room.roomId), Code.Unauthenticated, "INVALID_ROOM_TOKEN");
  });

  it("accepts the editor and viewer tokens once the room opts in, and the viewer token stops when the room turns it off", async () => {
    await setGlobal(true);
    const room = await newRoom();
    await setRoom(room.roomId, true);
    expect((await getRoom(room.editorToken, room.roomId)).room?.roomId).toBe(room.roomId);
    expect((await getRoom("0", room.roomId)).room?.roomId).toBe(room.roomId);
    await setRoom(room.roomId, false);
    await refused(getRoom("0", room.roomId), Code.Unauthenticated, "INVALID_ROOM_TOKEN");
    const detail = await refused(getRoom(room.editorToken, room.roomId), Code.PermissionDenied, "ROOM_TOKENS_DISABLED");
    expect(detail).toMatchObject({ layer: "room", parentValue: "false" });
    await setRoom(room.roomId, undefined);
    await refused(getRoom("0", room.roomId), Code.Unauthenticated, "INVALID_ROOM_TOKEN");
  });

  it("refuses tokens of an opted-in room while the global policy forbids them, and accepts them again when it permits", async () => {
    await setGlobal(true);
    const room = await newRoom();
    await setRoom(room.roomId, true);
    await setGlobal(false);
    const detail = await refused(getRoom(room.editorToken, room.roomId), Code.PermissionDenied, "ROOM_TOKENS_DISABLED");
    expect(detail).toMatchObject({ field: "allow_room_tokens", layer: "global", parentValue: "false" });
    await refused(getRoom("0", room.roomId), Code.Unauthenticated, "INVALID_ROOM_TOKEN");
    // A room can't opt in past the ceiling.
    const other = await newRoom();
    await refused(setRoom(other.roomId, true), Code.InvalidArgument, "POLICY_LOOSENS");
    await setGlobal(true);
    expect((await getRoom("0", room.roomId)).room?.roomId).toBe(room.roomId);
  });
});
