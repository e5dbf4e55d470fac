import { startBenchServer } from "./server.js";
const s = await startBenchServer();
const c = s.client(s.adminToken);
const room = await c.rooms.createRoom({ name: "x" });
const roomId = room.room!.roomId;
const target = "macro/00000000-0000-4000-8000-000000000001";
async function t(name: string, f: () => Promise<unknown>) {
  for (let i = 0; i < 3; i++) await f();
  const n = 20; const st = performance.now();
  for (let i = 0; i < n; i++) await f();
  console.log(name, ((performance.now() - st) / n).toFixed(2), "ms");
}
await t("getJwks", () => c.auth.getJwks({}));
await t("whoAmI", () => c.auth.whoAmI({}));
await t("getLock", () => c.locks.getLock({ roomId, target }));
await t("acquire", () => c.locks.acquireLock({ roomId, target }));
await t("release", () => c.locks.releaseLock({ roomId, target }).catch(() => 0));
await t("createRoom", () => c.rooms.createRoom({ name: "r" + Math.random() }));
await s.close();
