import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorDetailSchema } from "../../gen/gatehouse/v1/common_pb.js";
import { startTestServer, type TestServer } from "../support/server.js";

// Signals for operators and the decisions budget (issue 16), against the real
// server on PostgreSQL and Redis.

describe("GET /", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it("redirects to the console", async () => {
    const res = await fetch(`${server.baseUrl}/`, { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/console/");
  });

  it("exports the new series on /metrics, counting a failed login", async () => {
    await expect(server.login("admin", "not-the-password-1")).rejects.toThrow();
    const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
    expect(text).toMatch(/^gatehouse_login_failures_total\{reason="INVALID_CREDENTIALS"\} 1$/m);
    for (const name of [
      "gatehouse_macro_runs_total",
      "gatehouse_macro_run_duration_seconds",
      "gatehouse_sandbox_workers",
      "gatehouse_sandbox_workers_busy",
      "gatehouse_sandbox_queue_length",
      "gatehouse_lock_acquisitions_total",
      "gatehouse_lock_conflicts_total",
      "gatehouse_login_lockouts_total",
      "gatehouse_audit_write_duration_seconds",
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    // The failed login was audited: one write observed.
    expect(text).toMatch(/^gatehouse_audit_write_duration_seconds_count\{outcome="ok"\} [1-9]/m);
  });
});

function reasonOf(err: unknown): string | undefined {
  return ConnectError.from(err).findDetails(ErrorDetailSchema)[0]?.reason;
}

describe("CheckPermission's budget", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { GATEHOUSE_RATE_LIMIT_PER_MINUTE: "4", GATEHOUSE_CHECK_RATE_LIMIT_PER_MINUTE: "7" } });
  });
  afterAll(() => server.close());

  it("counts CheckPermission and CheckPermissions one per call against their own limit, not the general one", async () => {
    const users = server.client({ token: await server.login() }).users;
    // Seven checks: more than the general budget of four.
    for (let i = 0; i < 6; i++) expect((await users.checkPermission({ permission: "users.read" })).allowed).toBeDefined();
    await users.checkPermissions({ checks: [{ permission: "users.read" }, { permission: "users.write" }, { permission: "roles.read" }] });
    const refused = await users.checkPermission({ permission: "users.read" }).catch((e: unknown) => e);
    expect(ConnectError.from(refused).code).toBe(Code.ResourceExhausted);
    expect(reasonOf(refused)).toBe("RATE_LIMITED");
    // The general budget is untouched by the checks.
    const auth = server.client({ token: await server.login() }).auth;
    for (let i = 0; i < 4; i++) await auth.whoAmI({});
    const generalRefused = await auth.whoAmI({}).catch((e: unknown) => e);
    expect(ConnectError.from(generalRefused).code).toBe(Code.ResourceExhausted);
  });
});
