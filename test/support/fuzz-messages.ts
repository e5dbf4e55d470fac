import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { create, fromJson, ScalarType, toJsonString, type DescField, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { permissionCatalog } from "../../src/domain/permissions.js";
import type { Database } from "../../src/store/database.js";

/**
 * A request fuzzer built from the protobuf descriptors: for any request
 * message it makes random messages whose fields are drawn from pools that
 * reach past validation (ids that exist, in this tenant and another one,
 * permission keys, lock targets, macro code) mixed with hostile strings and
 * boundary numbers, unknown enum values, NaN, invalid timestamps and random
 * JSON.
 */

/** FuzzPools are the values thrown at id-like fields besides random ones. */
export interface FuzzPools {
  /** ownIds exist in the fuzzed user's tenant. */
  ownIds: string[];
  /** otherIds exist in another tenant: touching them must change nothing. */
  otherIds: string[];
  /** tenantNames for Login's `tenant` (never the other tenant's: its failed logins are audited there, by design). */
  tenantNames: string[];
}

/** Fuzzer samples request messages. */
export interface Fuzzer {
  /** sample answers `count` random messages of `desc` (reproducible for a seed). */
  sample(desc: DescMessage, count: number, seed: number): object[];
  /** describe renders a sampled message for a failure report (long strings cut). */
  describe(desc: DescMessage, message: object): string;
}

const hostileStrings = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "x".repeat(5000),
  "'; drop table users; --",
  "%00%ff",
  "../../../etc/passwd",
  "\u202egnp.exe",
  "\ud83d\ude42",
  "\ud800",
  "\uffff",
  "null",
  "{}",
  "*",
  "**",
  "c1:",
  "0",
  "-1",
  "9".repeat(30),
  "${jndi:ldap://x}",
  "<script>alert(1)</script>",
  "\\",
  "\r\nx-injected: 1",
];

const macroCodes = [
  "export default function (input) { return input; }",
  'import { put, get, list, remove } from "gatehouse:store";\nexport default async function (i) { await put("c", "k", { i }); await get("c", "k"); await list("c", { limit: 3 }); await remove("c", "k"); return 1; }',
  'import { fetch } from "gatehouse:net";\nexport default async function () { return await fetch("http://169.254.169.254/latest/meta-data/"); }',
  'import fs from "node:fs";\nexport default function () { return fs; }',
  "export default function () { return import('x'); }",
  "export default async function () { throw new Error('boom'); }",
  "export default function () { return globalThis.process?.env; }",
  "syntax error (((",
  "",
];

/** createFuzzer builds the arbitraries once per pool set. */
export function createFuzzer(pools: FuzzPools): Fuzzer {
  const ids = [...pools.ownIds, ...pools.otherIds];
  const idArb = fc.oneof(
    { arbitrary: fc.constantFrom(...ids), weight: 6 },
    { arbitrary: fc.constantFrom(...ids).map((id) => id.toUpperCase()), weight: 1 },
    { arbitrary: fc.uuid(), weight: 2 },
    { arbitrary: fc.constantFrom("00000000-0000-0000-0000-000000000000", "not-a-uuid", ""), weight: 1 },
  );
  const permissionArb = fc.oneof(fc.constantFrom(...Object.keys(permissionCatalog)), fc.constantFrom("nope.nothing", "Users.Read", "users.", ".read", "users.read.x"));
  const targetArb = fc.oneof(
    idArb.map((id) => `macro/${id}`),
    idArb.map((id) => `repo/${id}`),
    fc.constantFrom("macro/", "macro/../../etc", "room/x", "macro/*", ""),
  );
  const subjectArb = fc.oneof(
    fc.constant("*"),
    idArb.map((id) => `user:${id}`),
    idArb.map((id) => `room:${id}`),
    idArb.map((id) => `macro:${id}`),
    fc.constantFrom("role:admin", "role:", "user:", "tenant:x", "role:superuser"),
  );
  const actionArb = fc.constantFrom("store.read", "store.write", "store.delete", "store.list", "net.fetch", "macro.run", "*", "store.*", "drop");
  const resourceArb = fc.constantFrom("invoices", "invoices/*", "*.example.com", "**", "*", "", "a/../b", "x".repeat(300), "[", "{a,b}");
  const urlArb = fc.constantFrom("https://example.com/repo.git", "http://127.0.0.1:1/x.git", "file:///etc/passwd", "git://x/y", "https://169.254.169.254/", "https://[::1]/", "ftp://x", "", "https://user:pass@example.com/r.git");
  const genericString = fc.oneof(
    { arbitrary: fc.constantFrom(...hostileStrings), weight: 3 },
    { arbitrary: fc.string({ maxLength: 24 }), weight: 2 },
    { arbitrary: fc.string({ unit: "binary", maxLength: 24 }), weight: 1 },
    { arbitrary: idArb, weight: 2 },
  );
  const b64 = (s: string) => Buffer.from(s).toString("base64url");
  const pageTokenArb = fc.oneof(fc.constantFrom("", b64("c1:a"), b64("c1:\u0000"), b64("c1:99999999999999999999"), b64("zz"), "!!"), fc.string({ maxLength: 16 }).map((s) => b64(`c1:${s}`)));

  const specific = (field: DescField): fc.Arbitrary<string> | undefined => {
    const name = field.name;
    if (name === "page_token") return pageTokenArb;
    if (name.endsWith("_id") || name.endsWith("_ids")) return idArb;
    if (name === "target") return targetArb;
    if (name === "permission" || name === "permissions") return permissionArb;
    if (name === "subject" || name === "subjects") return subjectArb;
    if (name === "action") return actionArb;
    if (name === "resource") return resourceArb;
    if (name === "code") return fc.constantFrom(...macroCodes);
    if (name === "url") return urlArb;
    if (name === "tenant") return fc.constantFrom(...pools.tenantNames);
    if (name.endsWith("username")) return fc.constantFrom("nobody", "fuzz-made-user", "a", "UPPER", "x".repeat(80), `u-${randomUUID().slice(0, 6)}`);
    if (name.endsWith("password")) return fc.constantFrom("short", "long-enough-password-1", "x".repeat(2000), "");
    return undefined;
  };

  const stringArb = (field: DescField): fc.Arbitrary<string> => {
    const own = specific(field);
    return own ? fc.oneof({ arbitrary: own, weight: 3 }, { arbitrary: genericString, weight: 1 }) : genericString;
  };

  const int32 = fc.oneof(fc.constantFrom(0, 1, -1, 50, 1000, 1001, 2 ** 31 - 1, -(2 ** 31)), fc.integer());
  const uint32 = fc.oneof(fc.constantFrom(0, 1, 599, 600, 1800, 1801, 2 ** 32 - 1), fc.integer({ min: 0, max: 2 ** 32 - 1 }));
  const int64 = fc.oneof(fc.constantFrom(0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n)), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }));
  const uint64 = fc.oneof(fc.constantFrom(0n, 1n, 2n ** 64n - 1n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
  const double = fc.oneof(fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e308), fc.double());

  const scalarArb = (type: ScalarType, field: DescField): fc.Arbitrary<unknown> => {
    switch (type) {
      case ScalarType.STRING:
        return stringArb(field);
      case ScalarType.BOOL:
        return fc.boolean();
      case ScalarType.INT32:
      case ScalarType.SINT32:
      case ScalarType.SFIXED32:
        return int32;
      case ScalarType.UINT32:
      case ScalarType.FIXED32:
        return uint32;
      case ScalarType.INT64:
      case ScalarType.SINT64:
      case ScalarType.SFIXED64:
        return int64;
      case ScalarType.UINT64:
      case ScalarType.FIXED64:
        return uint64;
      case ScalarType.DOUBLE:
      case ScalarType.FLOAT:
        return double;
      case ScalarType.BYTES:
        return fc.uint8Array({ maxLength: 64 });
    }
  };

  const valueArb: fc.Arbitrary<unknown> = fc.oneof(
    { arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => fromJson(ValueSchema, v as JsonValue)), weight: 5 },
    { arbitrary: fc.constantFrom(NaN, Infinity).map((n) => create(ValueSchema, { kind: { case: "numberValue", value: n } })), weight: 1 },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
  const timestampArb = fc.record({
    seconds: fc.oneof(fc.constantFrom(0n, -62_135_596_801n, 253_402_300_800n, 2n ** 62n, -(2n ** 62n)), fc.bigInt({ min: 0n, max: 4_000_000_000n })),
    nanos: fc.oneof(fc.constantFrom(0, -1, 999_999_999, 1_000_000_000, 2 ** 31 - 1), fc.integer({ min: 0, max: 999_999_999 })),
  });

  const cache = new Map<DescMessage, fc.Arbitrary<Record<string, unknown>>>();
  const messageArb = (desc: DescMessage, depth: number): fc.Arbitrary<unknown> => {
    if (desc.typeName === "google.protobuf.Value") return valueArb;
    if (desc.typeName === "google.protobuf.Timestamp") return timestampArb;
    if (depth > 3) return fc.constant(undefined);
    const hit = cache.get(desc);
    if (hit) return hit;
    const parts: Record<string, fc.Arbitrary<unknown>> = {};
    for (const field of desc.fields) {
      if (field.oneof) continue;
      parts[field.localName] = fieldArb(field, depth);
    }
    for (const oneof of desc.oneofs) {
      parts[oneof.localName] = fc.oneof(
        fc.constant(undefined),
        ...oneof.fields.map((f) => valueOfField(f, depth).map((value) => ({ case: f.localName, value }))),
      );
    }
    const arb = fc.record(parts, { requiredKeys: [] });
    cache.set(desc, arb);
    return arb;
  };

  const enumArb = (values: readonly { number: number }[]) =>
    fc.oneof({ arbitrary: fc.constantFrom(...values.map((v) => v.number)), weight: 4 }, { arbitrary: fc.constantFrom(99, -1, 2 ** 31 - 1), weight: 1 });

  /** valueOfField is one value of a singular field (scalar, enum or message). */
  const valueOfField = (field: DescField, depth: number): fc.Arbitrary<unknown> => {
    switch (field.fieldKind) {
      case "scalar":
        return scalarArb(field.scalar, field);
      case "enum":
        return enumArb(field.enum.values);
      case "message":
        return messageArb(field.message, depth + 1);
      default:
        return fc.constant(undefined);
    }
  };

  const fieldArb = (field: DescField, depth: number): fc.Arbitrary<unknown> => {
    switch (field.fieldKind) {
      case "list": {
        const item =
          field.listKind === "scalar" ? scalarArb(field.scalar, field) : field.listKind === "enum" ? enumArb(field.enum.values) : messageArb(field.message, depth + 1);
        return fc.array(item.filter((v) => v !== undefined), { maxLength: 4 });
      }
      case "map": {
        const value = field.mapKind === "scalar" ? scalarArb(field.scalar, field) : field.mapKind === "enum" ? enumArb(field.enum.values) : messageArb(field.message, depth + 1);
        return field.mapKey === ScalarType.STRING ? fc.dictionary(fc.string({ maxLength: 8 }), value.filter((v) => v !== undefined), { maxKeys: 3 }) : fc.constant({});
      }
      default:
        return valueOfField(field, depth);
    }
  };

  return {
    sample(desc, count, seed) {
      return fc.sample(messageArb(desc, 0), { numRuns: count, seed }).map((init) => create(desc, (init ?? {}) as never) as object);
    },
    describe(desc, message) {
      try {
        return toJsonString(desc, message as never, { alwaysEmitImplicit: false }).replace(/"([^"]{60})[^"]+"/g, '"$1…"').slice(0, 600);
      } catch {
        return JSON.stringify(message, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : typeof v === "number" && !Number.isFinite(v) ? String(v) : v)).slice(0, 600);
      }
    },
  };
}

/**
 * snapshotTenant answers, for every table with a tenant_id column, the row
 * count and a digest of the tenant's rows, plus the platform-wide global
 * policy and the tenant's own row: equal snapshots mean nothing the tenant
 * can see changed.
 */
export async function snapshotTenant(db: Database, tenantId: string): Promise<Record<string, string>> {
  return db.asSystem(async (em) => {
    const tables = (await em.execute(
      "select table_name from information_schema.columns where table_schema = current_schema() and column_name = 'tenant_id' order by table_name",
    )) as Array<{ table_name: string }>;
    const snapshot: Record<string, string> = {};
    for (const { table_name: table } of tables) {
      const [row] = (await em.execute(
        `select count(*)::int as n, md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest from "${table}" t where tenant_id = ?`,
        [tenantId],
      )) as Array<{ n: number; digest: string }>;
      snapshot[table] = `${row!.n} ${row!.digest}`;
    }
    const [global] = (await em.execute("select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest from global_policy t")) as Array<{ digest: string }>;
    snapshot.global_policy = global!.digest;
    const [tenant] = (await em.execute("select md5(t::text) as digest from tenants t where id = ?", [tenantId])) as Array<{ digest: string }>;
    snapshot.tenant = tenant!.digest;
    return snapshot;
  });
}
