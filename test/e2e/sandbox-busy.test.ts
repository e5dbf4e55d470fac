import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { createUser, type FixtureUser } from "../support/fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";

const USER = 2;
// Keeps its worker for about 300 ms, so the one worker's queue (16 runs) fills.
const spin = "export default function () { const end = Date.now() + 300; while (Date.now() < end) {} return 1; }";

describe("RunMacro with every sandbox worker busy and the queue full", () => {
  let server: TestServer;
  let users: FixtureUser[];
  let roomId: string;
  let macroId: string;
  beforeAll(async () => {
    server = await startTestServer({ env: { GATEHOUSE_SANDBOX_WORKERS: "1" } });
    const admin = server.client({ token: await server.login() });
    // Three callers, so the per-user burst limit (10 runs a second) is not what refuses.
    users = await Promise.all([0, 1, 2].map((i) => createUser(server, { level: USER, roles: ["editor"], prefix: `busy${i}` })));
    roomId = (await admin.rooms.createRoom({ name: `busy-${randomUUID().slice(0, 8)}` })).room!.roomId;
    for (const u of users) await admin.rooms.addRoomMember({ roomId, userId: u.id, role: RoomRole.EDITOR });
    macroId = (await server.client({ token: users[0]!.token }).macros.updateMacros({ roomId, macros: [{ name: "spin", code: spin }] })).macros[0]!.macroId;
  });
  afterAll(async () => {
    await server?.close();
  });

  it("answers UNAVAILABLE with a retry hint (never INTERNAL) for runs beyond the queue", async () => {
    const answers = await Promise.allSettled(
      users.flatMap((u) => Array.from({ length: 8 }, () => server.client({ token: u.token }).macros.runMacro({ roomId, macroId }))),
    );
    const codes = answers.map((a) => (a.status === "fulfilled" ? "OK" : Code[ConnectError.from(a.reason).code]));
    console.log(`24 runs on one worker: ${codes.filter((c) => c === "OK").length} ran, ${codes.filter((c) => c === "Unavailable").length} refused`);
    expect(codes.every((c) => c === "OK" || c === "Unavailable"), codes.join(",")).toBe(true);
    const refusals = answers.flatMap((a) => (a.status === "rejected" ? [ConnectError.from(a.reason)] : []));
    expect(refusals.length).toBeGreaterThan(0);
    for (const err of refusals) {
      expect(err.findDetails(ErrorDetailSchema)[0]?.reason).toBe("UNAVAILABLE");
      expect(err.metadata.get("retry-after")).toBe("1");
    }
  });
});
