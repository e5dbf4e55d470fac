import { create, ScalarType } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/gatehouse/v1/auth_pb.js";
import { Level, PolicySchema } from "../../gen/gatehouse/v1/common_pb.js";
import { accessRuleOf } from "../../src/interceptors/access-rules.js";
import { createUser, expectFailure, uniqueName, type TestUser } from "../support/identity.js";
import { newMacroTarget } from "../support/lock-targets.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * GetServerInfo answers the limits a form needs; each is checked against
 * what the server does at and just past the limit, so the answer cannot
 * drift from the enforcement.
 */
describe("AuthService.GetServerInfo", () => {
  let server: TestServer;
  let root: string;
  let guest: TestUser; // LEVEL_GUEST without any role: signed in, no permission at all

  beforeAll(async () => {
    // A lease minimum other than the default, to see the answer follow the configuration.
    server = await startTestServer({ env: { GATEHOUSE_LOCK_MIN_TTL_SECONDS: "700" } });
    root = await server.login();
    guest = await createUser(server, root, { level: Level.GUEST, prefix: "info-guest" });
  });
  afterAll(async () => {
    await server?.close();
  });

  const info = (token: string) => server.client({ token }).auth.getServerInfo({});

  it("is open to any signed-in principal, a role-less guest included, and to no anonymous caller", async () => {
    const rule = accessRuleOf(AuthService.method.getServerInfo)!;
    expect({ public: rule.public, permission: rule.permission, minLevel: rule.minLevel, mutates: rule.mutates }).toEqual({
      public: false,
      permission: "",
      minLevel: Level.UNSPECIFIED,
      mutates: false,
    });
    expect((await info(guest.token)).lockLease).toBeDefined();
    await expectFailure(server.client().auth.getServerInfo({}), Code.Unauthenticated);
    await expectFailure(info("not-a-token"), Code.Unauthenticated);
  });

  it("answers the lock lease range the server enforces, its minimum from GATEHOUSE_LOCK_MIN_TTL_SECONDS", async () => {
    const { lockLease } = await info(guest.token);
    expect(lockLease).toMatchObject({ minTtlSeconds: 700, maxTtlSeconds: 1800, defaultTtlSeconds: 900 });
    const client = server.client({ token: root });
    const room = (await client.rooms.createRoom({ name: uniqueName("info-room") })).room!;
    const target = await newMacroTarget(client, room.roomId);
    for (const ttlSeconds of [lockLease!.minTtlSeconds - 1, lockLease!.maxTtlSeconds + 1]) {
      const failure = await expectFailure(client.locks.acquireLock({ roomId: room.roomId, target, ttlSeconds }), Code.InvalidArgument, "INVALID_ARGUMENT");
      expect(failure.detail.field).toBe("ttl_seconds");
    }
    const leaseOf = async (ttlSeconds?: number) => {
      const { lock } = await client.locks.acquireLock({ roomId: room.roomId, target, ttlSeconds });
      return Math.round((timestampMs(lock!.expiresAt!) - timestampMs(lock!.acquiredAt!)) / 1000);
    };
    expect(await leaseOf(lockLease!.minTtlSeconds)).toBe(lockLease!.minTtlSeconds);
    expect(await leaseOf(lockLease!.maxTtlSeconds)).toBe(lockLease!.maxTtlSeconds);
    expect(await leaseOf()).toBe(lockLease!.defaultTtlSeconds);
  });

  it("answers the bounds of every numeric policy field, which the server enforces", async () => {
    const answer = await info(guest.token);
    const numeric = PolicySchema.fields.filter((f) => f.fieldKind === "scalar" && f.scalar !== ScalarType.BOOL).map((f) => f.name);
    expect(answer.policyFields.map((b) => b.field)).toEqual(numeric);
    const bounds = Object.fromEntries(answer.policyFields.map((b) => [b.field, b]));
    expect(bounds["timeout_ms"]).toMatchObject({ min: 1n, max: 4294967295n, defaultValue: 1000n });
    expect(bounds["max_host_calls"]).toMatchObject({ min: 0n, max: 4294967295n, defaultValue: 1000n });
    const policies = server.client({ token: root }).policies;
    const localName = (name: string) => PolicySchema.fields.find((f) => f.name === name)!.localName;
    try {
      for (const b of answer.policyFields) {
        // The maximum is accepted on the global layer (no parent to loosen); below the minimum is refused naming the field.
        await policies.updateGlobalPolicy({ policy: create(PolicySchema, { [localName(b.field)]: Number(b.max) }) });
        await policies.updateGlobalPolicy({ policy: create(PolicySchema, { [localName(b.field)]: Number(b.min) }) });
        if (b.min > 0n) {
          const failure = await expectFailure(
            policies.updateGlobalPolicy({ policy: create(PolicySchema, { [localName(b.field)]: Number(b.min) - 1 }) }),
            Code.InvalidArgument,
            "INVALID_ARGUMENT",
          );
          expect(failure.detail.field).toBe(b.field);
        }
      }
    } finally {
      await policies.updateGlobalPolicy({ policy: create(PolicySchema, {}) });
    }
    // The defaults are the effective values where no layer sets anything.
    const room = (await server.client({ token: root }).rooms.createRoom({ name: uniqueName("info-defaults") })).room!;
    const effective = await policies.getEffectivePolicy({ roomId: room.roomId });
    const policy = effective.policy as unknown as Record<string, number>;
    for (const b of answer.policyFields) {
      expect([b.field, effective.sources[b.field]]).toEqual([b.field, "default"]);
      expect([b.field, BigInt(policy[localName(b.field)]!)]).toEqual([b.field, b.defaultValue]);
    }
  });

  it("answers the list bounds and the host modules allowed_imports may name", async () => {
    const answer = await info(guest.token);
    expect(answer.policyImports).toEqual(["gatehouse:store", "gatehouse:net", "gatehouse:log"]);
    const policies = server.client({ token: root }).policies;
    const tooMany = Array.from({ length: answer.policyListMaxItems + 1 }, (_, i) => `h${i}.example.com`);
    const failure = await expectFailure(policies.updateGlobalPolicy({ policy: create(PolicySchema, { allowedHosts: { values: tooMany } }) }), Code.InvalidArgument);
    expect(failure.detail.field).toBe("allowed_hosts");
    await expectFailure(policies.updateGlobalPolicy({ policy: create(PolicySchema, { allowedImports: { values: ["gatehouse:fs"] } }) }), Code.InvalidArgument);
    await policies.updateGlobalPolicy({ policy: create(PolicySchema, { allowedHosts: { values: tooMany.slice(1) }, allowedImports: { values: answer.policyImports } }) });
    await policies.updateGlobalPolicy({ policy: create(PolicySchema, {}) });
  });

  it("answers the password policy CreateUser and ResetUserPassword enforce", async () => {
    const { password } = await info(guest.token);
    expect(password).toMatchObject({ minLength: 10, maxLength: 1024 });
    const users = server.client({ token: root }).users;
    const short = "p".repeat(password!.minLength - 1);
    const failure = await expectFailure(users.createUser({ username: uniqueName("pw"), password: short, level: Level.USER }), Code.InvalidArgument);
    expect(failure.detail.field).toBe("password");
    const made = (await users.createUser({ username: uniqueName("pw"), password: "p".repeat(password!.minLength), level: Level.USER })).user!;
    await expectFailure(users.resetUserPassword({ userId: made.userId, newPassword: short }), Code.InvalidArgument);
    await expectFailure(users.resetUserPassword({ userId: made.userId, newPassword: "p".repeat(password!.maxLength + 1) }), Code.InvalidArgument);
    await users.resetUserPassword({ userId: made.userId, newPassword: "q".repeat(password!.maxLength) });
  });

  it("answers the page sizes of the List methods", async () => {
    const answer = await info(guest.token);
    expect({ max: answer.pageSizeMax, default: answer.pageSizeDefault }).toEqual({ max: 1000, default: 50 });
    const users = server.client({ token: root }).users;
    await Promise.all(Array.from({ length: answer.pageSizeDefault + 1 - (await users.listUsers({ pageSize: answer.pageSizeMax })).users.length }, () => createUser(server, root, { level: Level.GUEST, prefix: "page" })));
    expect((await users.listUsers({})).users.length).toBe(answer.pageSizeDefault);
  });
});
