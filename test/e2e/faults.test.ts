import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { verifyAuditChain } from "../../src/store/audit-writer.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { ensureRedisNodes, LOCK_NODE_PORTS } from "../support/redis.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { startTestServer, type TestServer } from "../support/server.js";

async function waitForStatus(server: TestServer, want: HealthCheckResponse_ServingStatus, timeoutMs = 5000): Promise<void> {
  const health = createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
  const deadline = Date.now() + timeoutMs;
  let last: HealthCheckResponse_ServingStatus | undefined;
  while (Date.now() < deadline) {
    last = (await health.check({ service: "" })).status;
    if (last === want) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`health stayed ${HealthCheckResponse_ServingStatus[last!]}, wanted ${HealthCheckResponse_ServingStatus[want]}`);
}

describe("Postgres connection cut", () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let server: TestServer;
  beforeAll(async () => {
    db = await createTestDatabase();
    proxy = await startTcpProxy("127.0.0.1", 5432);
    const viaProxy = { ...db, url: db.url.replace(":5432/", `:${proxy.port}/`) };
    server = await startTestServer({ db: viaProxy });
  });
  afterAll(async () => {
    proxy?.restore();
    await server?.close();
    await proxy?.close();
    await db?.drop();
  });

  it("turns health NOT_SERVING and calls UNAVAILABLE, writes nothing half, and recovers by itself", async () => {
    const token = await server.login();
    const client = server.client({ token });
    expect((await client.auth.whoAmI({})).user?.username).toBe("admin");

    proxy.cut();
    await waitForStatus(server, HealthCheckResponse_ServingStatus.NOT_SERVING);
    await new Promise((r) => setTimeout(r, 1100)); // past the session cache
    const read = await client.auth.whoAmI({}).catch((e: unknown) => e);
    expect(ConnectError.from(read).code).toBe(Code.Unavailable);
    const write = await client.auth.logout({}).catch((e: unknown) => e);
    expect(ConnectError.from(write).code).toBe(Code.Unavailable);

    proxy.restore();
    await waitForStatus(server, HealthCheckResponse_ServingStatus.SERVING);
    // The failed logout changed nothing: the session still works.
    expect((await client.auth.whoAmI({})).user?.username).toBe("admin");
    const report = await server.gatehouse.deps.db.asSystem(async (em) => {
      const [tenant] = (await em.execute("select id from tenants where name = 'default'")) as Array<{ id: string }>;
      return verifyAuditChain(em, tenant!.id);
    });
    expect(report.ok).toBe(true);
    expect(report.eventsChecked).toBeGreaterThan(0);
  });
});

describe("Redis connection cut", () => {
  let proxies: TcpProxy[] = [];
  let server: TestServer;
  beforeAll(async () => {
    await ensureRedisNodes(LOCK_NODE_PORTS);
    proxies = await Promise.all(LOCK_NODE_PORTS.map((p) => startTcpProxy("127.0.0.1", p)));
    server = await startTestServer({
      redis: false,
      env: { GATEHOUSE_REDIS_URLS: proxies.map((p) => `redis://127.0.0.1:${p.port}`).join(",") },
    });
  });
  afterAll(async () => {
    for (const p of proxies) p.restore();
    await server?.close();
    await Promise.all(proxies.map((p) => p.close()));
  });

  it("stays SERVING with one node of three cut, turns NOT_SERVING with a majority cut, and recovers", async () => {
    await waitForStatus(server, HealthCheckResponse_ServingStatus.SERVING);
    proxies[2]!.cut();
    await new Promise((r) => setTimeout(r, 600));
    await waitForStatus(server, HealthCheckResponse_ServingStatus.SERVING);
    proxies[1]!.cut();
    await waitForStatus(server, HealthCheckResponse_ServingStatus.NOT_SERVING);
    for (const p of proxies) p.restore();
    await waitForStatus(server, HealthCheckResponse_ServingStatus.SERVING, 10_000);
    const token = await server.login();
    expect((await server.client({ token }).auth.whoAmI({})).user?.username).toBe("admin");
  });
});
