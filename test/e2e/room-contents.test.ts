import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Level, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { createUser, type FixtureUser } from "../support/fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * GetRoom's `contents`: the counts a delete confirmation names (members,
 * macros, repos, stored records), given to who may delete the room only.
 */
describe("GetRoom contents", () => {
  let server: TestServer;
  let adminToken: string;
  let editor: FixtureUser;
  let viewer: FixtureUser;
  let roomId: string;

  beforeAll(async () => {
    server = await startTestServer();
    adminToken = await server.login();
    [editor, viewer] = await Promise.all([
      createUser(server, { level: Level.USER, roles: ["editor"], prefix: "editor" }),
      createUser(server, { level: Level.USER, roles: ["viewer"], prefix: "viewer" }),
    ]);
    const admin = server.client({ token: adminToken });
    roomId = (await admin.rooms.createRoom({ name: `contents-${Math.random().toString(36).slice(2, 8)}` })).room!.roomId;
    await admin.rooms.addRoomMember({ roomId, userId: editor.id, role: RoomRole.EDITOR });
    await admin.rooms.addRoomMember({ roomId, userId: viewer.id, role: RoomRole.VIEWER });
  });

  afterAll(async () => {
    await server?.close();
  });

  it("counts an empty room's members and nothing else", async () => {
    const res = await server.client({ token: adminToken }).rooms.getRoom({ roomId });
    expect(res.contents).toMatchObject({ memberCount: 3, macroCount: 0, repoCount: 0, recordCount: 0n });
  });

  it("counts macros, repos and the records the macros stored", async () => {
    const admin = server.client({ token: adminToken });
    const code = 'import { put } from "gatehouse:store";\nexport default async function () { await put("a", "1", 1); await put("a", "2", 2); await put("b", "1", 3); return true; }';
    const { macros } = await admin.macros.updateMacros({ roomId, macros: [{ name: "writer", code }, { name: "other", code: "export default function () { return 1; }" }] });
    await admin.macros.runMacro({ roomId, macroId: macros[0]!.macroId, input: null });
    // A repo's URL must pass the global allowed_hosts; it is never fetched here.
    await admin.policies.updateGlobalPolicy({ policy: { allowedHosts: { values: ["git.example.com"] } } });
    await admin.repos.updateRepo({ roomId, url: "https://git.example.com/team/macros.git", ref: "main", path: "" });
    const res = await admin.rooms.getRoom({ roomId });
    expect(res.contents).toMatchObject({ memberCount: 3, macroCount: 2, repoCount: 1, recordCount: 3n });
  });

  it("leaves contents unset for a member who may not delete the room", async () => {
    for (const user of [editor, viewer]) {
      const res = await server.client({ token: user.token }).rooms.getRoom({ roomId });
      expect(res.room?.myRole).toBe(user === editor ? RoomRole.EDITOR : RoomRole.VIEWER);
      expect(res.contents).toBeUndefined();
    }
  });

  it("counts another room's contents apart", async () => {
    const admin = server.client({ token: adminToken });
    const other = (await admin.rooms.createRoom({ name: `contents-other-${Math.random().toString(36).slice(2, 8)}` })).room!.roomId;
    const res = await admin.rooms.getRoom({ roomId: other });
    expect(res.contents).toMatchObject({ memberCount: 1, macroCount: 0, repoCount: 0, recordCount: 0n });
  });
});
