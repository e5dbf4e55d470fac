import { randomUUID } from "node:crypto";
import * as http2 from "node:http2";
import * as net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Outcome, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import type { GatehouseClient } from "../../src/client/index.js";
import { verifyAuditChain } from "../../src/store/audit-writer.js";
import type { Database } from "../../src/store/database.js";
import { newMacroTarget } from "../support/lock-targets.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { createUser, refused, tenantIdOf, type FixtureUser } from "../support/fixtures.js";
import { ensureRedisNodes, LOCK_NODE_PORTS } from "../support/redis.js";
import { grpcFrame, protoField } from "../support/raw-rpc.js";
import { startReplicas, type ReplicaSet } from "../support/replicas.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { codeOf } from "../support/refusals.js";

/**
 * Faults: parts of the system fail under a running service. Each test
 * checks that the service answers cleanly while they are down, recovers by
 * itself, that nothing is lost or half-written, and that the audit chain
 * still verifies.
 */

const USER = 2;
const SERVING = HealthCheckResponse_ServingStatus.SERVING;
const NOT_SERVING = HealthCheckResponse_ServingStatus.NOT_SERVING;

async function waitForHealth(baseUrl: string, want: HealthCheckResponse_ServingStatus, timeoutMs = 10_000): Promise<void> {
  const health = createClient(Health, createGrpcTransport({ baseUrl }));
  const deadline = Date.now() + timeoutMs;
  let last: HealthCheckResponse_ServingStatus | undefined;
  while (Date.now() < deadline) {
    last = (await health.check({ service: "" })).status;
    if (last === want) return;
    await sleep(50);
  }
  throw new Error(`health stayed ${HealthCheckResponse_ServingStatus[last!]}, wanted ${HealthCheckResponse_ServingStatus[want]}`);
}

async function chainVerifies(db: Database, tenantId: string): Promise<number> {
  const report = await db.asSystem((em) => verifyAuditChain(em, tenantId));
  expect(report.ok).toBe(true);
  return report.eventsChecked;
}

async function auditCount(db: Database, where: string, params: unknown[]): Promise<number> {
  const rows = (await db.asSystem((em) => em.execute(`select count(*)::int as n from audit_events where ${where}`, params))) as Array<{ n: number }>;
  return rows[0]!.n;
}

/** roomFor makes a room and adds members (as the bootstrap admin). */
async function roomFor(admin: GatehouseClient, members: Array<[FixtureUser, RoomRole]>): Promise<string> {
  const roomId = (await admin.rooms.createRoom({ name: `faults-${randomUUID().slice(0, 8)}` })).room!.roomId;
  for (const [user, role] of members) await admin.rooms.addRoomMember({ roomId, userId: user.id, role });
  return roomId;
}

describe("Redis nodes failing (through TCP proxies, so other test files keep theirs)", () => {
  let proxies: TcpProxy[] = [];
  let server: TestServer;
  let editor: FixtureUser;
  let roomId: string;
  let tenantId: string;
  beforeAll(async () => {
    await ensureRedisNodes(LOCK_NODE_PORTS);
    proxies = await Promise.all(LOCK_NODE_PORTS.map((p) => startTcpProxy("127.0.0.1", p)));
    server = await startTestServer({ redis: false, env: { GATEHOUSE_REDIS_URLS: proxies.map((p) => `redis://127.0.0.1:${p.port}`).join(",") } });
    editor = await createUser(server, { level: USER, roles: ["editor"], prefix: "redis" });
    roomId = await roomFor(server.client({ token: await server.login() }), [[editor, RoomRole.EDITOR]]);
    tenantId = await tenantIdOf(server);
  });
  afterAll(async () => {
    for (const p of proxies) p.restore();
    await server?.close();
    await Promise.all(proxies.map((p) => p.close()));
  });

  it("keeps locking with the first node (which also carries rate limits and the bus) down, refuses with two down, and recovers", async () => {
    const locks = server.client({ token: editor.token }).locks;
    const db = server.gatehouse.deps.db;
    const acquired: string[] = [];
    // Lock targets must exist in the room: made up front, while every node is up.
    const pool: string[] = [];
    for (let i = 0; i < 19; i++) pool.push(await newMacroTarget(server.client({ token: editor.token }), roomId));
    const churn = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const target = pool.shift()!;
        const got = await locks.acquireLock({ roomId, target });
        expect(got.lock?.ownerId).toBe(editor.id);
        expect((await locks.getLock({ roomId, target })).lock?.fencingToken).toBe(got.lock!.fencingToken);
        await locks.releaseLock({ roomId, target });
        acquired.push(target);
      }
    };
    await churn(3);

    proxies[0]!.cut();
    await churn(10);
    expect((await server.client({ token: editor.token }).auth.whoAmI({})).user?.userId).toBe(editor.id);
    await waitForHealth(server.baseUrl, SERVING);

    proxies[1]!.cut();
    const refusedTargets: string[] = [];
    for (let i = 0; i < 3; i++) {
      const target = pool.shift()!;
      await refused(locks.acquireLock({ roomId, target }), Code.Unavailable, "UNAVAILABLE");
      refusedTargets.push(target);
    }
    await waitForHealth(server.baseUrl, NOT_SERVING);

    for (const p of proxies) p.restore();
    await waitForHealth(server.baseUrl, SERVING, 15_000);
    await churn(3);

    // Nothing half-written: the refused acquisitions hold no lock and left no ALLOWED record.
    for (const target of refusedTargets) {
      expect((await locks.getLock({ roomId, target })).lock).toBeUndefined();
      expect(await auditCount(db, "tenant_id = ? and action = 'locks.acquire' and resource = ? and outcome = 'ALLOWED'", [tenantId, target])).toBe(0);
    }
    // Nothing lost: every acquisition and release that answered OK has its record.
    for (const target of acquired) {
      expect(await auditCount(db, "tenant_id = ? and action in ('locks.acquire', 'locks.release') and resource = ? and outcome = 'ALLOWED'", [tenantId, target])).toBe(2);
    }
    await chainVerifies(db, tenantId);
  });
});

describe("the Postgres connection cut in the middle of a write", () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let server: TestServer;
  let git: GitServer;
  let editor: FixtureUser;
  let roomId: string;
  /** cutAt arms the proxy to cut every connection once the server has sent `needle` `count` times. */
  let cutAt: (needle: string, count: number) => Promise<void>;

  beforeAll(async () => {
    db = await createTestDatabase();
    let armed: { needle: string; left: number; tail: string; cut: () => void } | undefined;
    proxy = await startTcpProxy("127.0.0.1", 5432, {
      onClientData(chunk) {
        if (!armed) return;
        const text = armed.tail + chunk.toString("latin1");
        for (let at = text.indexOf(armed.needle); at >= 0 && armed.left > 0; at = text.indexOf(armed.needle, at + 1)) armed.left--;
        armed.tail = text.slice(-(armed.needle.length - 1));
        if (armed.left === 0) {
          const done = armed.cut;
          armed = undefined;
          proxy.cut();
          done();
        }
      },
    });
    cutAt = (needle, count) => new Promise((resolve) => (armed = { needle, left: count, tail: "", cut: resolve }));
    server = await startTestServer({ db: { ...db, url: db.url.replace(":5432/", `:${proxy.port}/`) } });
    editor = await createUser(server, { level: USER, roles: ["editor"], prefix: "pgcut" });
    const admin = server.client({ token: await server.login() });
    roomId = await roomFor(admin, [[editor, RoomRole.EDITOR]]);
    // Repos: the test git server's exact host:port (plain http on loopback) is allowed explicitly.
    git = await startGitServer();
    await admin.policies.updateGlobalPolicy({ policy: { allowedHosts: { values: [git.hostPort] }, allowedImports: { values: ["gatehouse:store", "gatehouse:log"] } } });
  });
  afterAll(async () => {
    proxy?.restore();
    await server?.close();
    await proxy?.close();
    await db?.drop();
    await git?.close();
  });

  const macroRows = async (where: string, params: unknown[]) =>
    (await server.gatehouse.deps.db.asSystem((em) => em.execute(`select id, name, code, version from macros where ${where} order by name`, params))) as Array<{
      id: string;
      name: string;
      code: string;
      version: number;
    }>;

  it("creates none of a batch of new macros when the connection dies after the third insert, then all of it on retry", async () => {
    const tag = `batch-${randomUUID().slice(0, 8)}`;
    const batch = Array.from({ length: 5 }, (_, i) => ({ name: `${tag}-${i}`, code: `export default function () { return ${i}; }` }));
    const macros = server.client({ token: editor.token }).macros;
    const cut = cutAt("insert into \"macros\" ", 3);
    const code = await codeOf(macros.updateMacros({ roomId, macros: batch }));
    await cut;
    expect(code).toBe(Code.Unavailable);
    proxy.restore();
    await waitForHealth(server.baseUrl, SERVING, 15_000);

    expect(await macroRows("name like ?", [`${tag}-%`])).toEqual([]);
    const tenantId = await tenantIdOf(server);
    expect(await auditCount(server.gatehouse.deps.db, "tenant_id = ? and action = 'macros.update' and outcome = 'ALLOWED' and details::text like ?", [tenantId, `%${tag}%`])).toBe(0);

    const saved = await macros.updateMacros({ roomId, macros: batch });
    expect(saved.macros).toHaveLength(5);
    expect((await macroRows("name like ?", [`${tag}-%`])).map((m) => m.name)).toEqual(batch.map((m) => m.name));
    await chainVerifies(server.gatehouse.deps.db, tenantId);
  });

  it("changes none of a batch of existing macros when the connection dies after the second update", async () => {
    const tag = `edit-${randomUUID().slice(0, 8)}`;
    const macros = server.client({ token: editor.token }).macros;
    const locks = server.client({ token: editor.token }).locks;
    const made = (await macros.updateMacros({ roomId, macros: Array.from({ length: 3 }, (_, i) => ({ name: `${tag}-${i}`, code: "export default function () { return 'old'; }" })) })).macros;
    for (const m of made) await locks.acquireLock({ roomId, target: `macro/${m.macroId}` });
    const edits = made.map((m) => ({ macroId: m.macroId, name: m.name, code: "export default function () { return 'new'; }", expectedVersion: 1 }));

    const cut = cutAt("update \"macros\" set ", 2);
    const code = await codeOf(macros.updateMacros({ roomId, macros: edits }));
    await cut;
    expect(code).toBe(Code.Unavailable);
    proxy.restore();
    await waitForHealth(server.baseUrl, SERVING, 15_000);

    const after = await macroRows("name like ?", [`${tag}-%`]);
    expect(after.map((m) => [m.version, m.code.includes("'old'")])).toEqual([
      [1, true],
      [1, true],
      [1, true],
    ]);
    // The retry (same expected versions) goes through whole.
    const saved = await macros.updateMacros({ roomId, macros: edits });
    expect(saved.macros.map((m) => m.version)).toEqual([2, 2, 2]);
    await chainVerifies(server.gatehouse.deps.db, await tenantIdOf(server));
  });

  it("imports none of a repo's macros when the connection dies in the middle of SyncRepo, then all of them", async () => {
    const client = server.client({ token: editor.token });
    const remote = await git.createRepo(`cut-${randomUUID().slice(0, 8)}`);
    await remote.commit(Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`macros/m${i}.js`, `export default function () { return ${i}; }\n`])));
    const repo = (await client.repos.updateRepo({ roomId, url: remote.url, ref: "main", path: "macros" })).repo!;
    await client.locks.acquireLock({ roomId, target: `repo/${repo.repoId}` });

    const cut = cutAt("insert into \"macros\" ", 3);
    const code = await codeOf(client.repos.syncRepo({ roomId, repoId: repo.repoId }));
    await cut;
    expect(code).toBe(Code.Unavailable);
    proxy.restore();
    await waitForHealth(server.baseUrl, SERVING, 15_000);

    expect(await macroRows("source_repo_id = ?", [repo.repoId])).toEqual([]);
    expect((await client.repos.getRepo({ roomId, repoId: repo.repoId })).repo?.lastCommit).toBe("");
    const synced = await client.repos.syncRepo({ roomId, repoId: repo.repoId });
    expect(synced.imported).toHaveLength(5);
    expect(await macroRows("source_repo_id = ?", [repo.repoId])).toHaveLength(5);
    await chainVerifies(server.gatehouse.deps.db, await tenantIdOf(server));
  });
});

describe("sandbox workers dying and clients going away", () => {
  let server: TestServer;
  let adminToken: string;
  let editor: FixtureUser;
  let roomId: string;
  let tenantId: string;
  beforeAll(async () => {
    server = await startTestServer({ env: { GATEHOUSE_SANDBOX_WORKERS: "2", GATEHOUSE_RUNS_PER_SECOND: "1000" } });
    adminToken = await server.login();
    editor = await createUser(server, { level: USER, roles: ["editor"], prefix: "sandbox" });
    const admin = server.client({ token: adminToken });
    roomId = await roomFor(admin, [[editor, RoomRole.EDITOR]]);
    // A tight deadline for this room (tighten-only), so the stuck runs end fast.
    await admin.policies.updateRoomPolicy({ roomId, policy: { timeoutMs: 300 } });
    tenantId = await tenantIdOf(server);
  });
  afterAll(async () => {
    await server?.close();
  });

  const macro = async (code: string) =>
    (await server.client({ token: editor.token }).macros.updateMacros({ roomId, macros: [{ name: `m-${randomUUID().slice(0, 8)}`, code }] })).macros[0]!.macroId;
  const poolIdle = async () => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const stats = server.gatehouse.deps.sandbox.stats();
      if (stats.idle === stats.size) return stats;
      if (Date.now() > deadline) throw new Error(`pool did not recover: ${JSON.stringify(stats)}`);
      await sleep(20);
    }
  };

  it("answers a run whose worker is killed (stuck in a native operation past its deadline), and the pool recovers", async () => {
    // One native BigInt power takes ~2 s: QuickJS's interrupt cannot stop it, so the parent terminates the worker.
    const stuck = await macro("export default function () { return String(7n ** 300000n).length; }");
    const echo = await macro("export default function (input) { return input; }");
    const before = await poolIdle();
    const started = performance.now();
    const res = await server.client({ token: editor.token }).macros.runMacro({ roomId, macroId: stuck });
    expect(res.outcome).toBe(Outcome.TIMEOUT);
    expect(performance.now() - started).toBeLessThan(1500);
    const after = await poolIdle();
    expect(after.killed).toBe(before.killed + 1);
    const ok = await server.client({ token: editor.token }).macros.runMacro({ roomId, macroId: echo, input: "after" });
    expect(ok.outcome).toBe(Outcome.OK);
    expect(await auditCount(server.gatehouse.deps.db, "tenant_id = ? and action = 'macros.run' and resource = ? and details->>'outcome' = 'timeout'", [tenantId, `macro:${stuck}`])).toBe(1);
  });

  it("kills the worker of a run whose client went away, and the pool recovers", async () => {
    const runaway = await macro("export default function () { for (;;) {} }");
    const before = await poolIdle();
    const controller = new AbortController();
    const call = server.client({ token: editor.token }).macros.runMacro({ roomId, macroId: runaway }, { signal: controller.signal });
    // Abort once the run is in a worker (its audit record is written first).
    while (server.gatehouse.deps.sandbox.stats().busy === 0) await sleep(10);
    controller.abort();
    expect(await codeOf(call)).toBe(Code.Canceled);
    const after = await poolIdle();
    expect(after.killed).toBe(before.killed + 1);
    await waitForHealth(server.baseUrl, SERVING);
    await chainVerifies(server.gatehouse.deps.db, tenantId);
  });

  it("serves other callers while slow clients trickle their requests in, then answers the slow ones", async () => {
    // Each slow client logs in as someone else, so that no lockout answers instead.
    const nobody = () => `nobody-${randomUUID().slice(0, 8)}`;
    // HTTP/1.1: headers, then the body one byte every 40 ms.
    const slowH1 = () =>
      new Promise<string>((resolve, reject) => {
        const login = Buffer.from(JSON.stringify({ tenant: "default", username: nobody(), password: "wrong-password-1" }));
        const socket = net.connect(server.port, "127.0.0.1");
        let data = "";
        socket.on("data", (d) => (data += d.toString()));
        socket.on("close", () => resolve(data.split("\r\n")[0] ?? ""));
        socket.on("error", reject);
        socket.write(
          `POST /gatehouse.v1.AuthService/Login HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\nconnect-protocol-version: 1\r\nconnection: close\r\ncontent-length: ${login.length}\r\n\r\n`,
        );
        let i = 0;
        const timer = setInterval(() => {
          socket.write(login.subarray(i, i + 1));
          if (++i >= login.length) clearInterval(timer);
        }, 40);
      });
    // HTTP/2: a gRPC frame, one byte every 40 ms.
    const slowH2 = () =>
      new Promise<number | undefined>((resolve) => {
        const session = http2.connect(server.baseUrl);
        session.on("error", () => undefined);
        const body = grpcFrame(Buffer.concat([protoField(1, Buffer.from("default")), protoField(2, Buffer.from(nobody())), protoField(3, Buffer.from("wrong-password-1"))]));
        const req = session.request({ ":method": "POST", ":path": "/gatehouse.v1.AuthService/Login", "content-type": "application/grpc", te: "trailers" });
        let status: number | undefined;
        req.on("trailers", (t) => (status = Number(t["grpc-status"])));
        req.on("response", (h) => h["grpc-status"] !== undefined && (status = Number(h["grpc-status"])));
        req.on("data", () => undefined);
        req.on("close", () => {
          session.close();
          resolve(status);
        });
        let i = 0;
        const timer = setInterval(() => {
          req.write(body.subarray(i, i + 1));
          if (++i >= body.length) {
            clearInterval(timer);
            req.end();
          }
        }, 40);
      });
    const slow = [...Array.from({ length: 10 }, slowH1), ...Array.from({ length: 10 }, slowH2)];
    const client = server.client({ token: adminToken });
    const latencies: number[] = [];
    for (let i = 0; i < 40; i++) {
      const t = performance.now();
      await client.auth.whoAmI({});
      latencies.push(performance.now() - t);
    }
    latencies.sort((a, b) => a - b);
    console.log(`WhoAmI beside 20 slow clients: p50 ${latencies[20]!.toFixed(1)} ms, max ${latencies[39]!.toFixed(1)} ms`);
    expect(latencies[39]!).toBeLessThan(500);
    const answers = await Promise.all(slow);
    expect(answers.slice(0, 10)).toEqual(Array(10).fill("HTTP/1.1 401 Unauthorized"));
    expect(answers.slice(10)).toEqual(Array(10).fill(Code.Unauthenticated));
  });

  it("serves other callers while clients do not read their large answers, and lets go of them when they vanish", async () => {
    // About 1.5 MiB of macro code to list.
    const big = "export default function () { return 1; }\n" + `// ${"x".repeat(190_000)}\n`;
    await server.client({ token: editor.token }).macros.updateMacros({ roomId, macros: Array.from({ length: 8 }, (_, i) => ({ name: `big-${i}-${randomUUID().slice(0, 6)}`, code: big })) });
    const body = grpcFrame(Buffer.concat([protoField(1, Buffer.from(roomId)), Buffer.from([0x10, 0xe8, 0x07])])); // page_size 1000
    const stalled = Array.from({ length: 5 }, () => {
      const session = http2.connect(server.baseUrl, { settings: { initialWindowSize: 1024 } });
      session.on("error", () => undefined);
      const req = session.request({ ":method": "POST", ":path": "/gatehouse.v1.MacrosService/ListMacros", "content-type": "application/grpc", te: "trailers", authorization: `Bearer ${editor.token}` });
      req.on("error", () => undefined);
      req.end(body);
      req.pause(); // never read: the server's writes back up against flow control
      return session;
    });
    await sleep(300);
    const client = server.client({ token: adminToken });
    const t = performance.now();
    for (let i = 0; i < 20; i++) await client.auth.whoAmI({});
    expect((performance.now() - t) / 20).toBeLessThan(100);
    for (const session of stalled) session.destroy();
    await sleep(100);
    await waitForHealth(server.baseUrl, SERVING);
    expect((await server.client({ token: editor.token }).macros.listMacros({ roomId, pageSize: 2 })).macros).toHaveLength(2);
  });

  it("stays healthy when clients vanish mid-request and mid-stream", async () => {
    // HTTP/2: half a gRPC frame, then the session is destroyed.
    for (let i = 0; i < 10; i++) {
      const session = http2.connect(server.baseUrl);
      session.on("error", () => undefined);
      const req = session.request({ ":method": "POST", ":path": "/gatehouse.v1.MacrosService/RunMacro", "content-type": "application/grpc", te: "trailers", authorization: `Bearer ${editor.token}` });
      req.on("error", () => undefined);
      req.write(grpcFrame(Buffer.alloc(100, 0x0a)).subarray(0, 20));
      await sleep(5);
      session.destroy();
    }
    // HTTP/1.1: half a body, then the socket is destroyed.
    for (let i = 0; i < 10; i++) {
      const socket = net.connect(server.port, "127.0.0.1");
      socket.on("error", () => undefined);
      socket.write("POST /gatehouse.v1.AuthService/Login HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\nconnect-protocol-version: 1\r\ncontent-length: 500\r\n\r\n{\"tenant\":");
      await sleep(5);
      socket.destroy();
    }
    // A health watch (a server stream) dropped after its first message.
    const controller = new AbortController();
    const health = createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
    for await (const status of health.watch({ service: "" }, { signal: controller.signal })) {
      expect(status.status).toBe(SERVING);
      controller.abort();
      break;
    }
    await sleep(100);
    await waitForHealth(server.baseUrl, SERVING);
    expect((await server.client({ token: adminToken }).auth.whoAmI({})).user?.username).toBe("admin");
    await chainVerifies(server.gatehouse.deps.db, tenantId);
  });
});

describe("SIGTERM under load (a real server process)", () => {
  let set: ReplicaSet;
  beforeAll(async () => {
    set = await startReplicas({ count: 1, env: { GATEHOUSE_SANDBOX_WORKERS: "2", GATEHOUSE_RUNS_PER_SECOND: "100000", GATEHOUSE_SHUTDOWN_GRACE_MS: "5000" } });
  });
  afterAll(async () => {
    await set?.close();
  });

  it("finishes the calls in flight, refuses new ones cleanly, exits 0 and loses no audit record", async () => {
    const replica = set.replicas[0]!;
    const token = await replica.login();
    const admin = replica.client({ token });
    const roomId = (await admin.rooms.createRoom({ name: "sigterm" })).room!.roomId;
    // A run takes ~30 ms, so that some are always in flight.
    const macroId = (await admin.macros.updateMacros({ roomId, macros: [{ name: "busy", code: "export default function () { const end = Date.now() + 30; while (Date.now() < end) {} return 1; }" }] })).macros[0]!.macroId;

    interface CallRecord {
      kind: "room" | "run";
      started: number;
      ended: number;
      code: Code | "ok";
      roomId?: string;
    }
    const records: CallRecord[] = [];
    let stop = false;
    const loop = async (n: number) => {
      // Each loop has its own connection (an HTTP/2 session).
      const client = replica.client({ token });
      for (let i = 0; !stop; i++) {
        const kind = (i + n) % 2 === 0 ? "room" : "run";
        const started = performance.now();
        let code: Code | "ok" = "ok";
        let made: string | undefined;
        try {
          if (kind === "room") made = (await client.rooms.createRoom({ name: `load-${n}-${i}` })).room!.roomId;
          else await client.macros.runMacro({ roomId, macroId });
        } catch (err) {
          code = ConnectError.from(err).code;
          await sleep(20);
        }
        records.push({ kind, started, ended: performance.now(), code, roomId: made });
      }
    };
    const loops = Array.from({ length: 6 }, (_, n) => loop(n));
    await sleep(1500);
    const sigterm = performance.now();
    replica.child.kill("SIGTERM");
    const exit = await replica.exited;
    await sleep(300);
    stop = true;
    await Promise.all(loops);

    expect(exit).toEqual({ code: 0, signal: null });
    const before = records.filter((r) => r.ended < sigterm);
    const inFlight = records.filter((r) => r.started < sigterm && r.ended >= sigterm);
    const after = records.filter((r) => r.started >= sigterm);
    const codes = (rs: CallRecord[]) => [...new Set(rs.map((r) => (r.code === "ok" ? "OK" : Code[r.code])))].sort();
    console.log(
      `SIGTERM under load: ${before.length} calls before, ${inFlight.length} in flight (${codes(inFlight).join("/")}), ${after.length} after (${codes(after).join("/")}); exit ${exit.code}`,
    );
    expect(codes(before)).toEqual(["OK"]);
    // In flight when the signal came: they finish.
    expect(inFlight.length).toBeGreaterThan(0);
    expect(codes(inFlight)).toEqual(["OK"]);
    // After it: refused cleanly (connection refused or the GOAWAY'd session: UNAVAILABLE), never a half answer.
    expect(after.length).toBeGreaterThan(0);
    for (const code of codes(after)) expect(["OK", "Unavailable"]).toContain(code);

    // No audit record lost: every answered call has its record, committed before the process left.
    const db = await set.db();
    const tenant = (await db.asSystem((em) => em.execute("select id from tenants where name = 'default'"))) as Array<{ id: string }>;
    const tenantId = tenant[0]!.id;
    const okRooms = records.filter((r) => r.kind === "room" && r.code === "ok").map((r) => `room:${r.roomId}`);
    expect(await auditCount(db, "tenant_id = ? and action = 'rooms.create' and outcome = 'ALLOWED' and resource = any(?::text[])", [tenantId, `{${okRooms.join(",")}}`])).toBe(okRooms.length);
    const okRuns = records.filter((r) => r.kind === "run" && r.code === "ok").length;
    const runRows = await auditCount(db, "tenant_id = ? and action = 'macros.run' and outcome = 'ALLOWED'", [tenantId]);
    expect(runRows).toBeGreaterThanOrEqual(okRuns);
    expect(runRows).toBeLessThanOrEqual(records.filter((r) => r.kind === "run").length);
    await chainVerifies(db, tenantId);
  });
});
