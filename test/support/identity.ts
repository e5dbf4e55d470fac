import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { expect } from "vitest";
import { AuditOutcome, type AuditEvent } from "../../gen/gatehouse/v1/audit_pb.js";
import { Level } from "../../gen/gatehouse/v1/common_pb.js";
import { refusalOf, type Refusal } from "./fixtures.js";
import { accessRuleOf } from "../../src/interceptors/access-rules.js";
import type { TestServer } from "./server.js";
import { validRequest } from "./valid-requests.js";

/** Failure is what a refused call answered: its code, its ErrorDetail and that detail's reason. */
export type Failure = Refusal & { reason: string };

/** failureOf awaits a call that must fail and answers its code and detail (see fixtures' refusalOf). */
export async function failureOf(call: Promise<unknown>): Promise<Failure> {
  const refusal = await refusalOf(call);
  return { ...refusal, reason: refusal.detail.reason };
}

/** expectFailure asserts a call fails with the code and (optionally) the reason. */
export async function expectFailure(call: Promise<unknown>, code: Code, reason?: string): Promise<Failure> {
  const failure = await failureOf(call);
  expect(Code[failure.code]).toBe(Code[code]);
  if (reason !== undefined) expect(failure.reason).toBe(reason);
  return failure;
}

/** TestUser is a user created for a test, logged in. */
export interface TestUser {
  id: string;
  username: string;
  password: string;
  token: string;
}

let counter = 0;

/** uniqueName answers a fresh valid username/tenant/role name with `prefix`. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid % 1000}-${counter}-${Math.random().toString(36).slice(2, 6)}`;
}

/** roleIdsByName answers the caller's tenant's role ids keyed by name. */
export async function roleIdsByName(server: TestServer, token: string): Promise<Map<string, string>> {
  const res = await server.client({ token }).roles.listRoles({ pageSize: 1000 });
  return new Map(res.roles.map((r) => [r.name, r.roleId]));
}

/**
 * createUser creates a user through CreateUser as `creatorToken` (in the
 * creator's tenant) with the given level and role names, then logs them in.
 */
export async function createUser(
  server: TestServer,
  creatorToken: string,
  options: { level: Level; roles?: string[]; prefix?: string; tenant?: string },
): Promise<TestUser> {
  const ids = await roleIdsByName(server, creatorToken);
  const username = uniqueName(options.prefix ?? "user");
  const password = `pw-${username}-secret`;
  const res = await server.client({ token: creatorToken }).users.createUser({
    username,
    password,
    level: options.level,
    roleIds: (options.roles ?? []).map((name) => ids.get(name)!),
  });
  const token = await server.login(username, password, options.tenant ?? "default");
  return { id: res.user!.userId, username, password, token };
}

/** auditEvents lists the caller's tenant's events matching the filter (newest first). */
export async function auditEvents(server: TestServer, token: string, filter: { action?: string; actorId?: string } = {}): Promise<AuditEvent[]> {
  const res = await server.client({ token }).audit.listAuditEvents({ ...filter, pageSize: 1000 });
  return res.events;
}

/** expectDeniedInAudit asserts the newest event of `action` by `actorId` is DENIED with `reason`. */
export async function expectDeniedInAudit(server: TestServer, readerToken: string, actorId: string, action: string, reason: string): Promise<AuditEvent> {
  const events = await auditEvents(server, readerToken, { action, actorId });
  const denied = events.find((e) => e.outcome === AuditOutcome.DENIED);
  expect(denied, `a DENIED ${action} event by ${actorId}`).toBeDefined();
  expect(denied!.reason).toBe(reason);
  return denied!;
}

/** waitUntil polls `probe` until it answers true or `timeoutMs` passes; answers the elapsed ms. */
export async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number, stepMs = 20): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** AccessExpectation is the part of an AccessRule a test pins down. */
export interface AccessExpectation {
  permission: string;
  minLevel?: Level;
  mutates?: boolean;
}

/**
 * expectAccessRules asserts that every method of `service` carries an access
 * rule, none is public, and each matches `expected` (which must name every
 * method: a new method without an expectation fails the test).
 */
export function expectAccessRules(service: DescService, expected: Record<string, AccessExpectation>): void {
  expect(service.methods.map((m) => m.name).sort()).toEqual(Object.keys(expected).sort());
  for (const method of service.methods) {
    const rule = accessRuleOf(method);
    expect(rule, `${method.name} has an access rule`).toBeDefined();
    const want = expected[method.name]!;
    expect({ name: method.name, public: rule!.public, permission: rule!.permission, minLevel: rule!.minLevel, mutates: rule!.mutates }).toEqual({
      name: method.name,
      public: false,
      permission: want.permission,
      minLevel: want.minLevel ?? Level.UNSPECIFIED,
      mutates: want.mutates ?? false,
    });
  }
}

/**
 * callEvery calls every method of `service` with a request that passes
 * validation (validRequest) and answers each one's code ("OK" when it
 * succeeded).
 */
export async function callEvery(server: TestServer, service: DescService, token?: string): Promise<Record<string, string>> {
  const transport = server.client({ token }).transport;
  const client = createClient(service, transport) as unknown as Record<string, (req: object) => Promise<unknown>>;
  const codes: Record<string, string> = {};
  for (const method of service.methods) {
    try {
      await client[method.localName]!(validRequest(method.input));
      codes[method.name] = "OK";
    } catch (err) {
      codes[method.name] = Code[ConnectError.from(err).code];
    }
  }
  return codes;
}

/**
 * expectEveryMethodGuarded calls every method of `service` without
 * credentials (all UNAUTHENTICATED) and as `weakToken`, a caller without
 * roles: exactly the methods whose rule needs a permission or a level answer
 * PERMISSION_DENIED.
 */
export async function expectEveryMethodGuarded(server: TestServer, service: DescService, weakToken: string): Promise<void> {
  const anonymous = await callEvery(server, service);
  for (const method of service.methods) expect([method.name, anonymous[method.name]]).toEqual([method.name, "Unauthenticated"]);
  const weak = await callEvery(server, service, weakToken);
  for (const method of service.methods) {
    const rule = accessRuleOf(method)!;
    const guarded = rule.permission !== "" || rule.minLevel > Level.GUEST;
    if (guarded) expect([method.name, weak[method.name]]).toEqual([method.name, "PermissionDenied"]);
    else expect([method.name, weak[method.name]]).not.toEqual([method.name, "PermissionDenied"]);
  }
}
