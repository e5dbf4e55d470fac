import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { ErrorDetailSchema } from "../../gen/gatehouse/v1/common_pb.js";
import { AuthService } from "../../gen/gatehouse/v1/auth_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { gatehouseServices } from "../../src/routes.js";
import { accessRuleOf } from "../../src/interceptors/access-rules.js";
import { clientConstructor, loadGrpcPackage } from "../reflection/harness.js";
import { adminPassword, startTestServer, type TestServer } from "../support/server.js";
import { auditRows, tenantIdOf } from "../support/fixtures.js";

const run = promisify(execFile);

function reasonOf(err: unknown): string | undefined {
  return ConnectError.from(err).findDetails(ErrorDetailSchema)[0]?.reason;
}

async function curlJson(url: string, body: string, headers: string[] = []): Promise<{ status: number; body: string; headers: string }> {
  const args = ["-s", "-i", "-X", "POST", url, "-H", "content-type: application/json", "-H", "connect-protocol-version: 1", ...headers.flatMap((h) => ["-H", h]), "-d", body];
  const { stdout } = await run("curl", args);
  const [head, ...rest] = stdout.split("\r\n\r\n");
  const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(head!)?.[1]);
  return { status, body: rest.join("\r\n\r\n"), headers: head! };
}

describe("foundation", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  describe("access rules", () => {
    it("puts an access rule on every method of every gatehouse service", () => {
      const missing: string[] = [];
      for (const service of gatehouseServices) {
        for (const method of service.methods) {
          if (!accessRuleOf(method)) missing.push(`${service.typeName}/${method.name}`);
        }
      }
      expect(gatehouseServices).toHaveLength(12);
      expect(missing).toEqual([]);
    });
  });

  describe("reflection", () => {
    it("lists all twelve gatehouse services plus health and reflection to an independent grpc-js client", async () => {
      const pkg = loadGrpcPackage(["grpc/reflection/v1/reflection.proto"]);
      const Ctor = clientConstructor(pkg, "grpc.reflection.v1.ServerReflection");
      const client = new Ctor(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
      const names = await new Promise<string[]>((resolve, reject) => {
        const call = (client as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<unknown, { listServicesResponse?: { service: Array<{ name: string }> } }> }).ServerReflectionInfo();
        call.on("data", (res: { listServicesResponse?: { service: Array<{ name: string }> } }) => {
          resolve(res.listServicesResponse?.service.map((s) => s.name) ?? []);
          call.end();
        });
        call.on("error", reject);
        call.write({ listServices: "" });
      });
      client.close();
      for (const s of gatehouseServices) expect(names).toContain(s.typeName);
      expect(names).toContain("grpc.health.v1.Health");
      expect(names).toContain("grpc.reflection.v1.ServerReflection");
      expect(names).toContain("grpc.reflection.v1alpha.ServerReflection");
    });
  });

  describe("health", () => {
    it("answers SERVING for the server and each service", async () => {
      const health = createClient(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
      expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      expect((await health.check({ service: "gatehouse.v1.AuthService" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      await expect(health.check({ service: "no.such.Service" })).rejects.toMatchObject({ code: Code.NotFound });
    });
  });

  describe("unauthenticated calls", () => {
    it("answers UNAUTHENTICATED over gRPC with the generated client", async () => {
      const client = createClient(AuthService, createGrpcTransport({ baseUrl: server.baseUrl }));
      const err = await client.whoAmI({}).catch((e: unknown) => e);
      expect(ConnectError.from(err).code).toBe(Code.Unauthenticated);
      expect(reasonOf(err)).toBe("UNAUTHENTICATED");
    });

    it("answers UNAUTHENTICATED over the Connect protocol (HTTP/1.1) and gRPC-Web", async () => {
      for (const transport of [
        createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }),
        createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "2" }),
        createGrpcWebTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }),
      ]) {
        const err = await createClient(AuthService, transport).whoAmI({}).catch((e: unknown) => e);
        expect(ConnectError.from(err).code).toBe(Code.Unauthenticated);
      }
    });

    it("answers 401 to plain curl with Connect JSON, with our error detail", async () => {
      const res = await curlJson(`${server.baseUrl}/gatehouse.v1.AuthService/WhoAmI`, "{}");
      expect(res.status).toBe(401);
      const body = JSON.parse(res.body) as { code: string; details: Array<{ type: string; debug: { reason: string } }> };
      expect(body.code).toBe("unauthenticated");
      expect(body.details[0]?.type).toBe("gatehouse.v1.ErrorDetail");
      expect(body.details[0]?.debug.reason).toBe("UNAUTHENTICATED");
      expect(res.headers.toLowerCase()).toContain("x-request-id:");
    });

    it("answers UNAUTHENTICATED to @grpc/grpc-js with the .proto files", async () => {
      const pkg = loadGrpcPackage(["gatehouse/v1/auth.proto"]);
      const Ctor = clientConstructor(pkg, "gatehouse.v1.AuthService");
      const client = new Ctor(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
      const err = await new Promise<grpc.ServiceError>((resolve) => {
        (client as unknown as { WhoAmI(req: object, cb: (e: grpc.ServiceError) => void): void }).WhoAmI({}, (e) => resolve(e));
      });
      client.close();
      expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    });
  });

  describe("authenticated calls", () => {
    it("logs in and answers WhoAmI over all four clients", async () => {
      const token = await server.login();
      for (const protocol of ["grpc", "connect", "grpc-web"] as const) {
        const me = await server.client({ token, protocol }).auth.whoAmI({});
        expect(me.user?.username).toBe("admin");
      }
      const res = await curlJson(`${server.baseUrl}/gatehouse.v1.AuthService/WhoAmI`, "{}", [`authorization: Bearer ${token}`]);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body).level).toBe("LEVEL_SUPERGOD");
      const pkg = loadGrpcPackage(["gatehouse/v1/auth.proto"]);
      const Ctor = clientConstructor(pkg, "gatehouse.v1.AuthService");
      const client = new Ctor(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
      const meta = new grpc.Metadata();
      meta.set("authorization", `Bearer ${token}`);
      const me = await new Promise<{ user: { username: string } }>((resolve, reject) => {
        (client as unknown as { WhoAmI(r: object, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: { user: { username: string } }) => void): void }).WhoAmI({}, meta, (e, r) => (e ? reject(e) : resolve(r)));
      });
      client.close();
      expect(me.user.username).toBe("admin");
    });

    it("records the client address of HTTP/2 (h2c) calls in the audit log", async () => {
      await createClient(AuthService, createGrpcTransport({ baseUrl: server.baseUrl })).login({ tenant: "default", username: "admin", password: adminPassword });
      const rows = await auditRows(server, await tenantIdOf(server), "auth.login");
      expect(rows.length).toBeGreaterThan(0);
      const ips = (await server.gatehouse.deps.db.asSystem((em) => em.execute("select ip from audit_events where action = 'auth.login'"))) as Array<{ ip: string }>;
      expect(ips.every((r) => r.ip === "127.0.0.1" || r.ip === "::ffff:127.0.0.1")).toBe(true);
    });
  });

  describe("transport limits", () => {
    it("refuses a message over the read limit with RESOURCE_EXHAUSTED before any auth work", async () => {
      const client = createClient(AuthService, createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }));
      const huge = "x".repeat(server.config.readMaxBytes + 10);
      const err = await client.login({ tenant: "default", username: "admin", password: huge }).catch((e: unknown) => e);
      expect(ConnectError.from(err).code).toBe(Code.ResourceExhausted);
    });

    it("refuses a Connect POST without the protocol header", async () => {
      const { stdout } = await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", `${server.baseUrl}/gatehouse.v1.AuthService/WhoAmI`, "-H", "content-type: application/json", "-d", "{}"]);
      expect(stdout).toBe("400");
    });

    it("serves GET only for NO_SIDE_EFFECTS methods", async () => {
      const msg = encodeURIComponent("{}");
      const ok = await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", `${server.baseUrl}/gatehouse.v1.AuthService/GetJwks?connect=v1&encoding=json&message=${msg}`]);
      expect(ok.stdout).toBe("200");
      const refused = await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", `${server.baseUrl}/gatehouse.v1.AuthService/Logout?connect=v1&encoding=json&message=${msg}`]);
      expect(refused.stdout).toBe("405");
    });
  });

  describe("plain HTTP routes", () => {
    it("serves Prometheus metrics by method and code", async () => {
      await createClient(AuthService, createGrpcTransport({ baseUrl: server.baseUrl })).getJwks({});
      const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
      expect(text).toMatch(/gatehouse_rpc_calls_total\{method="gatehouse.v1.AuthService\/GetJwks",code="ok"\} \d+/);
      expect(text).toContain("gatehouse_rpc_duration_seconds_bucket");
    });

    it("publishes the JWKS", async () => {
      const jwks = (await (await fetch(`${server.baseUrl}/.well-known/jwks.json`)).json()) as { keys: Array<{ kty: string; crv: string; kid: string; d?: string }> };
      expect(jwks.keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519" });
      expect(jwks.keys[0]?.d).toBeUndefined();
    });

    it("answers CORS preflights only for configured origins", async () => {
      const preflight = (origin: string) =>
        fetch(`${server.baseUrl}/gatehouse.v1.AuthService/WhoAmI`, {
          method: "OPTIONS",
          headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
        });
      const refused = await preflight("https://evil.example");
      expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    });
  });
});

describe("CORS with a configured origin", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { GATEHOUSE_CORS_ORIGINS: "https://console.example" }, redis: false });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("allows the configured origin with credentials and refuses others", async () => {
    const ok = await fetch(`${server.baseUrl}/gatehouse.v1.AuthService/WhoAmI`, {
      method: "OPTIONS",
      headers: { origin: "https://console.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type,x-csrf-token" },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://console.example");
    expect(ok.headers.get("access-control-allow-credentials")).toBe("true");
    expect(ok.headers.get("access-control-allow-headers")).toContain("x-csrf-token");
    const bad = await fetch(`${server.baseUrl}/gatehouse.v1.AuthService/WhoAmI`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(bad.headers.get("access-control-allow-origin")).toBeNull();
  });
});
