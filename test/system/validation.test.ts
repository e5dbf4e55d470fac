import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create, type DescMessage, type DescMethod, type MessageShape } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ErrorDetailSchema, ErrorReason } from "../../gen/gatehouse/v1/common_pb.js";
import { UsersService } from "../../gen/gatehouse/v1/users_pb.js";
import { gatehouseServices } from "../../src/routes.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { isIdField, validRequest } from "../support/valid-requests.js";

/**
 * Every request field is checked against its `buf.validate` rules after the
 * IP rate limit and before authentication: a malformed id or an over-long
 * string answers INVALID_ARGUMENT (reason INVALID_ARGUMENT, `field` naming it)
 * with no credentials and with the database unreachable, so no handler,
 * authentication or database work ran.
 */

/**
 * unchecked are the string fields the contract leaves free: a malformed
 * permission key answers `allowed: false`; Login's tenant and username are
 * checked by Login itself, after the attempt is audited (every login attempt
 * is recorded: test/e2e/auth-security.test.ts).
 */
const unchecked = new Set([
  "gatehouse.v1.CheckPermissionRequest.permission",
  "gatehouse.v1.PermissionCheck.permission",
  "gatehouse.v1.LoginRequest.tenant",
  "gatehouse.v1.LoginRequest.username",
]);
const overLong = "x".repeat(300_000);
const validator = createValidator();


/** Probe is one malformed request: the path the error must name, and the request. */
interface Probe {
  path: string;
  what: string;
  request: Record<string, unknown>;
}

/** probesOf lists a malformed-id and an over-long probe for every string field, one level into lists of messages. */
function probesOf(schema: DescMessage): Probe[] {
  const probes: Probe[] = [];
  const base = () => validRequest(schema);
  for (const f of schema.fields) {
    const id = `${schema.typeName}.${f.name}`;
    if (f.fieldKind === "scalar" && f.scalar === 9 && !unchecked.has(id)) {
      if (isIdField(f)) probes.push({ path: f.name, what: "malformed id", request: { ...base(), [f.localName]: "not-a-uuid" } });
      probes.push({ path: f.name, what: "over-long string", request: { ...base(), [f.localName]: overLong } });
    }
    if (f.fieldKind === "list" && f.listKind === "scalar" && f.scalar === 9) {
      if (isIdField(f)) probes.push({ path: `${f.name}[0]`, what: "malformed id", request: { ...base(), [f.localName]: ["not-a-uuid"] } });
      probes.push({ path: `${f.name}[0]`, what: "over-long string", request: { ...base(), [f.localName]: [overLong] } });
    }
    if (f.fieldKind === "list" && f.listKind === "message") {
      for (const inner of probesOf(f.message)) {
        probes.push({ path: `${f.name}[0].${inner.path}`, what: inner.what, request: { ...base(), [f.localName]: [inner.request] } });
      }
    }
  }
  return probes;
}

describe("request validation", () => {
  let server: TestServer;
  let adminToken: string;

  beforeAll(async () => {
    server = await startTestServer();
    adminToken = await server.login();
    // The database becomes unreachable: existing connections are cut and no new ones are allowed.
    await server.db.admin(`alter database "${server.db.name}" allow_connections false`);
    await server.db.admin("select count(pg_terminate_backend(pid)) as n from pg_stat_activity where datname = ? and pid <> pg_backend_pid()", [server.db.name]);
  });

  afterAll(async () => {
    await server?.db.admin(`alter database "${server.db.name}" allow_connections true`);
    await server?.close();
  });

  it("runs with the database really unreachable", async () => {
    const users = server.client({ token: adminToken }).users;
    const failure = await users.getUser({ userId: randomUUID() }).then(
      () => undefined,
      (err: unknown) => ConnectError.from(err),
    );
    expect(failure?.code).toBe(Code.Unavailable);
  });

  it("builds a valid base request for every method (the probes change one field only)", () => {
    for (const service of gatehouseServices) {
      for (const method of service.methods) {
        const result = validator.validate(method.input, create(method.input, validRequest(method.input) as MessageShape<DescMessage>));
        expect([method.name, result.kind]).toEqual([method.name, "valid"]);
      }
    }
  });

  // A service whose requests have no validated field (AdminService) has nothing to probe here.
  for (const service of gatehouseServices.filter((s) => s.methods.some((m) => probesOf(m.input).length > 0))) {
    describe(service.typeName, () => {
      for (const method of service.methods) {
        const probes = probesOf(method.input);
        if (probes.length === 0) continue;
        it(`${method.name} answers INVALID_ARGUMENT naming the field, before authentication and any database work`, async () => {
          const transport = createGrpcTransport({ baseUrl: server.baseUrl });
          for (const probe of probes) {
            const err = await call(transport, method, probe.request);
            const label = `${method.name} ${probe.path} (${probe.what})`;
            expect([label, err && Code[err.code]]).toEqual([label, "InvalidArgument"]);
            const [detail] = err!.findDetails(ErrorDetailSchema);
            expect([label, detail?.reason, detail?.reasonCode, detail?.field]).toEqual([label, "INVALID_ARGUMENT", ErrorReason.INVALID_ARGUMENT, probe.path]);
            const [violations] = err!.findDetails(ViolationsSchema);
            expect([label, violations?.violations.length]).toEqual([label, 1]);
          }
        });
      }
    });
  }

  it("keeps documented behaviour: page sizes above 1000 and malformed permission keys pass validation", () => {
    const listed = create(UsersService.method.listUsers.input, { pageSize: 5000 });
    expect(validator.validate(UsersService.method.listUsers.input, listed).kind).toBe("valid");
    expect(validator.validate(UsersService.method.listUsers.input, create(UsersService.method.listUsers.input, { pageSize: -1 })).kind).toBe("invalid");
    const check = create(UsersService.method.checkPermission.input, { permission: "not a key!".repeat(100) });
    expect(validator.validate(UsersService.method.checkPermission.input, check).kind).toBe("valid");
  });
});

/** call sends one request without credentials and answers its error (undefined when it succeeded). */
async function call(transport: ReturnType<typeof createGrpcTransport>, method: DescMethod, request: Record<string, unknown>): Promise<ConnectError | undefined> {
  const anyClient = createClient(method.parent, transport) as unknown as Record<string, (req: object) => Promise<unknown> | AsyncIterable<unknown>>;
  try {
    const answer = anyClient[method.localName]!(request);
    if (Symbol.asyncIterator in (answer as object)) {
      for await (const _ of answer as AsyncIterable<unknown>) void _;
    } else {
      await answer;
    }
    return undefined;
  } catch (err) {
    return ConnectError.from(err);
  }
}
