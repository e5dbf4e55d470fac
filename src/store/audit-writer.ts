import { createHash } from "node:crypto";
import { canonicalJson, sanitizeText, toJsonValue, type JsonValue } from "./canonical-json.js";
import type { PrimaryKeyProp } from "@mikro-orm/core";
import type { AuditEventEntity, AuditOutcome } from "./entities/audit-event.js";
import { InvalidDataError } from "./errors.js";
import type { StoreEntityManager } from "./orm.js";
import { sqlLiteral, type DirectPool, type DirectSql } from "./direct-sql.js";
import { normalizeUuid } from "./tenant-scope.js";

/** GENESIS_HASH is the `prev_hash` of a tenant's first audit event. */
export const GENESIS_HASH = "0".repeat(64);

/** AuditEventInput is one audit event as the caller knows it. */
export interface AuditEventInput {
  /** tenantId is the tenant whose chain the event extends. */
  tenantId: string;
  roomId?: string | null;
  actorId?: string | null;
  actorName?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  /** method is the RPC, e.g. `gatehouse.v1.UsersService/CreateUser`. */
  method?: string | null;
  /** action is what was attempted, e.g. `users.create`. */
  action: string;
  resource?: string | null;
  outcome: AuditOutcome;
  reason?: string | null;
  /** details is any JSON-serializable value, secrets already redacted. */
  details?: unknown;
  /** createdAt defaults to now; it is truncated to milliseconds. */
  createdAt?: Date;
}

/**
 * AuditEventRecord is an event as stored: normalized, numbered and hashed. The
 * fields mean what they mean on AuditEventEntity.
 */
export type AuditEventRecord = Omit<AuditEventEntity, typeof PrimaryKeyProp | "details"> & { details: JsonValue };

/** AuditChainReport is the answer of verifyAuditChain. */
export interface AuditChainReport {
  /** ok is true when every event and the chain head check out. */
  ok: boolean;
  /** eventsChecked counts the events read, up to and including the first broken one. */
  eventsChecked: number;
  /** firstBrokenSeq is the first seq that is missing, altered or out of chain. */
  firstBrokenSeq?: number;
}

const outcomes: ReadonlySet<string> = new Set<AuditOutcome>(["ALLOWED", "DENIED", "FAILED", "CANCELED"]);

/**
 * hashAuditEvent computes an event's hash: SHA-256 hex over the canonical JSON
 * (sorted keys, no whitespace) of every stored field except `hash`, with
 * `createdAt` as an ISO-8601 string with milliseconds and `prevHash` included.
 */
export function hashAuditEvent(event: Omit<AuditEventRecord, "hash">): string {
  const payload: JsonValue = {
    tenantId: event.tenantId,
    seq: event.seq,
    roomId: event.roomId,
    actorId: event.actorId,
    actorName: event.actorName,
    ip: event.ip,
    userAgent: event.userAgent,
    requestId: event.requestId,
    method: event.method,
    action: event.action,
    resource: event.resource,
    outcome: event.outcome,
    reason: event.reason,
    details: event.details,
    createdAt: event.createdAt.toISOString(),
    prevHash: event.prevHash,
  };
  return createHash("sha256").update(canonicalJson(payload), "utf8").digest("hex");
}

/**
 * appendAuditEvent appends one event to its tenant's chain inside the caller's
 * transaction (so a change and its audit record commit or roll back together;
 * without a transaction it opens one). It locks the tenant's `audit_heads` row,
 * which serializes appends per tenant until the transaction ends: keep the
 * transaction short after appending. Answers the stored record.
 */
export async function appendAuditEvent(em: StoreEntityManager, event: AuditEventInput): Promise<AuditEventRecord> {
  const [record] = await appendAuditEvents(em, [event]);
  return record!;
}

/**
 * appendAuditEvents appends events of ONE tenant, in order, with two
 * statements whatever their number: it locks the chain head once, hashes the
 * events in order, and inserts them in one multi-row insert that also moves
 * the head. Same chain as appending them one by one. Used to group records
 * written at the same moment into one transaction.
 */
export async function appendAuditEvents(em: StoreEntityManager, events: readonly AuditEventInput[]): Promise<AuditEventRecord[]> {
  if (events.length === 0) return [];
  if (!em.isInTransaction()) {
    return em.transactional((tx) => appendAuditEvents(tx, events));
  }
  const { tenantId, drafts } = draftsOfOneTenant(events);
  const heads = (await em.execute(lockHeadSql("?", "?"), [tenantId, GENESIS_HASH])) as HeadRow[];
  const records = chainAfter(heads[0]!, drafts);
  const row = `(${storedColumns.map(([, type]) => `?::${type}`).join(", ")})`;
  const last = records[records.length - 1]!;
  await em.execute(
    `with appended as (
       insert into audit_events (${columnList})
       values ${records.map(() => row).join(", ")}
       returning seq)
     update audit_heads set last_seq = ?, last_hash = ?
       where tenant_id = ? and (select count(*) from appended) = ?`,
    [...records.flatMap(storedValues), last.seq, last.hash, tenantId, records.length],
  );
  return records;
}

type Draft = ReturnType<typeof normalizeEvent>;
interface HeadRow {
  last_seq: number | string;
  last_hash: string;
}

/** lockHeadSql creates the tenant's chain head if missing and locks it until the transaction ends. */
const lockHeadSql = (tenantId: string, genesisHash: string) => `insert into audit_heads (tenant_id, last_seq, last_hash)
     values (${tenantId}, 0, ${genesisHash})
     on conflict (tenant_id) do update set last_seq = audit_heads.last_seq
     returning last_seq, last_hash`;

function draftsOfOneTenant(events: readonly AuditEventInput[]): { tenantId: string; drafts: Draft[] } {
  const drafts = events.map(normalizeEvent);
  const tenantId = drafts[0]!.tenantId;
  if (drafts.some((d) => d.tenantId !== tenantId)) throw new Error("appendAuditEvents: events of one tenant only");
  return { tenantId, drafts };
}

/** chainAfter numbers and hashes drafts in order after the locked head. */
function chainAfter(head: HeadRow, drafts: readonly Draft[]): AuditEventRecord[] {
  let seq = Number(head.last_seq);
  let prevHash = head.last_hash;
  const records: AuditEventRecord[] = [];
  for (const draft of drafts) {
    seq += 1;
    const unhashed = { ...draft, seq, prevHash };
    const record: AuditEventRecord = { ...unhashed, hash: hashAuditEvent(unhashed) };
    records.push(record);
    prevHash = record.hash;
  }
  return records;
}

/**
 * appendAuditEventsDirect is appendAuditEvents on a DirectSql transaction
 * (plain pg, prepared statements): the same chain, one statement to lock the
 * head and one to insert the batch as arrays (one statement text for any batch
 * size, so it stays prepared) and move the head.
 */
export async function appendAuditEventsDirect(sql: DirectSql, events: readonly AuditEventInput[]): Promise<AuditEventRecord[]> {
  if (events.length === 0) return [];
  const { tenantId, drafts } = draftsOfOneTenant(events);
  const heads = await sql.query<HeadRow>({ name: "gatehouse_audit_lock_head", text: lockHeadSql("$1", "$2"), values: [tenantId, GENESIS_HASH] });
  const records = chainAfter(heads[0]!, drafts);
  const last = records[records.length - 1]!;
  const values = records.map(storedValues);
  const arrays = storedColumns.map((_, i) => values.map((v) => v[i] ?? null));
  const after = storedColumns.length; // $1..$17 are the column arrays
  await sql.query({
    name: "gatehouse_audit_append",
    text: `with appended as (
       insert into audit_events (${columnList})
       select * from unnest(${storedColumns.map(([, type], i) => `$${i + 1}::${type}[]`).join(", ")})
       returning seq)
     update audit_heads set last_seq = $${after + 1}, last_hash = $${after + 2}
       where tenant_id = $${after + 3} and (select count(*) from appended) = $${after + 4}`,
    values: [...arrays, last.seq, last.hash, tenantId, records.length],
  });
  return records;
}

/** ChainHead is where a tenant's chain ends. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** storedColumns are audit_events' columns in insert order, with their SQL types. */
const storedColumns = [
  ["tenant_id", "uuid"],
  ["seq", "bigint"],
  ["room_id", "uuid"],
  ["actor_id", "uuid"],
  ["actor_name", "text"],
  ["ip", "text"],
  ["user_agent", "text"],
  ["request_id", "text"],
  ["method", "text"],
  ["action", "text"],
  ["resource", "text"],
  ["outcome", "text"],
  ["reason", "text"],
  ["details", "jsonb"],
  ["created_at", "timestamptz"],
  ["prev_hash", "text"],
  ["hash", "text"],
] as const;

const columnList = storedColumns.map(([name]) => name).join(", ");

/** storedValues is a record's values in storedColumns order, as the driver sends them. */
function storedValues(r: AuditEventRecord): Array<string | number | null> {
  return [
    r.tenantId, r.seq, r.roomId, r.actorId, r.actorName, r.ip, r.userAgent, r.requestId, r.method, r.action, r.resource,
    r.outcome, r.reason, r.details === null ? null : JSON.stringify(r.details), r.createdAt.toISOString(), r.prevHash, r.hash,
  ];
}

/**
 * appendAuditEventsAfterHead appends events of one tenant in ONE round trip,
 * provided the chain still ends at `expected` (the head this process wrote
 * last): the head moves and the rows go in only if it does, in one implicit
 * transaction. Answers the records, or undefined with nothing written when the
 * head has moved (another replica, or a write inside a request's
 * transaction): then append with appendAuditEventsDirect, which locks the head.
 */
export async function appendAuditEventsAfterHead(
  pool: DirectPool,
  events: readonly AuditEventInput[],
  expected: ChainHead,
): Promise<AuditEventRecord[] | undefined> {
  if (events.length === 0) return [];
  const { tenantId, drafts } = draftsOfOneTenant(events);
  const records = chainAfter({ last_seq: expected.seq, last_hash: expected.hash }, drafts);
  const last = records[records.length - 1]!;
  const rows = records.map((r) => storedValues(r).map((value, i) => sqlLiteral(value, storedColumns[i]![1])).join(", "));
  const [inserted] = await pool.script(tenantId, [
    `with head as (
       update audit_heads set last_seq = ${sqlLiteral(last.seq)}, last_hash = ${sqlLiteral(last.hash)}
        where tenant_id = ${sqlLiteral(tenantId, "uuid")} and last_seq = ${sqlLiteral(expected.seq)} and last_hash = ${sqlLiteral(expected.hash)}
        returning tenant_id)
     insert into audit_events (${columnList})
     select v.* from (values (${rows.join("), (")})) as v (${columnList})
      where exists (select 1 from head)`,
  ]);
  if (inserted === records.length) return records;
  if (inserted === 0) return undefined;
  throw new Error(`appendAuditEventsAfterHead: ${inserted} of ${records.length} rows inserted`); // cannot happen: one statement
}

interface StoredEventRow {
  seq: number | string;
  room_id: string | null;
  actor_id: string | null;
  actor_name: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  method: string | null;
  action: string;
  resource: string | null;
  outcome: AuditOutcome;
  reason: string | null;
  details: JsonValue;
  created_at_iso: string;
  prev_hash: string;
  hash: string;
}

/**
 * verifyAuditChain re-reads a tenant's events in seq order, in pages, and checks
 * that seqs run 1, 2, 3, ... without gaps, that each `prev_hash` is the previous
 * event's hash, that each hash matches the recomputed one, and that the chain
 * ends at `audit_heads`. It checks the chain as of its start; events appended
 * meanwhile are left for the next run. Run it inTenant or asSystem.
 */
export async function verifyAuditChain(
  em: StoreEntityManager,
  tenantId: string,
  options: { pageSize?: number } = {},
): Promise<AuditChainReport> {
  const tenant = normalizeUuid(tenantId, "tenant_id");
  const pageSize = options.pageSize ?? 1000;
  const heads = (await em.execute("select last_seq, last_hash from audit_heads where tenant_id = ?", [tenant])) as Array<{
    last_seq: number | string;
    last_hash: string;
  }>;
  const headSeq = heads[0] ? Number(heads[0].last_seq) : 0;
  const headHash = heads[0]?.last_hash ?? GENESIS_HASH;

  let checked = 0;
  let prevSeq = 0;
  let prevHash = GENESIS_HASH;
  const broken = (seq: number): AuditChainReport => ({ ok: false, eventsChecked: checked, firstBrokenSeq: seq });

  for (;;) {
    const rows = (await em.execute(
      `select seq, room_id, actor_id, actor_name, ip, user_agent, request_id, method, action, resource,
              outcome, reason, details,
              to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at_iso,
              prev_hash, hash
         from audit_events
        where tenant_id = ? and seq > ? and seq <= ?
        order by seq
        limit ?`,
      [tenant, prevSeq, headSeq, pageSize],
    )) as StoredEventRow[];
    for (const row of rows) {
      checked += 1;
      const seq = Number(row.seq);
      if (seq !== prevSeq + 1) {
        return broken(prevSeq + 1);
      }
      const record: Omit<AuditEventRecord, "hash"> = {
        tenantId: tenant,
        seq,
        roomId: row.room_id,
        actorId: row.actor_id,
        actorName: row.actor_name,
        ip: row.ip,
        userAgent: row.user_agent,
        requestId: row.request_id,
        method: row.method,
        action: row.action,
        resource: row.resource,
        outcome: row.outcome,
        reason: row.reason,
        details: row.details ?? null,
        createdAt: new Date(row.created_at_iso),
        prevHash: row.prev_hash,
      };
      if (row.prev_hash !== prevHash || hashAuditEvent(record) !== row.hash) {
        return broken(seq);
      }
      prevSeq = seq;
      prevHash = row.hash;
    }
    if (rows.length < pageSize) {
      break;
    }
  }
  if (prevSeq !== headSeq) {
    return broken(prevSeq + 1); // events at the end are missing
  }
  if (prevHash !== headHash) {
    return broken(headSeq === 0 ? 1 : headSeq);
  }
  return { ok: true, eventsChecked: checked };
}

function normalizeEvent(event: AuditEventInput): Omit<AuditEventRecord, "seq" | "prevHash" | "hash"> {
  if (!outcomes.has(event.outcome)) {
    throw new InvalidDataError("outcome must be ALLOWED, DENIED, FAILED or CANCELED");
  }
  if (typeof event.action !== "string" || event.action === "") {
    throw new InvalidDataError("action is required");
  }
  const createdAt = event.createdAt ?? new Date();
  const ms = Math.trunc(createdAt.getTime());
  if (!Number.isFinite(ms)) {
    throw new InvalidDataError("createdAt is not a valid date");
  }
  return {
    tenantId: normalizeUuid(event.tenantId, "tenant_id"),
    roomId: optionalUuid(event.roomId, "room_id"),
    actorId: optionalUuid(event.actorId, "actor_id"),
    actorName: optionalText(event.actorName),
    ip: optionalText(event.ip),
    userAgent: optionalText(event.userAgent),
    requestId: optionalText(event.requestId),
    method: optionalText(event.method),
    action: sanitizeText(event.action),
    resource: optionalText(event.resource),
    outcome: event.outcome,
    reason: optionalText(event.reason),
    details: toJsonValue(event.details),
    createdAt: new Date(ms),
  };
}

function optionalUuid(value: string | null | undefined, field: string): string | null {
  return value === undefined || value === null || value === "" ? null : normalizeUuid(value, field);
}

function optionalText(value: string | null | undefined): string | null {
  return value === undefined || value === null ? null : sanitizeText(value);
}
