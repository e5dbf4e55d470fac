import type { LockInfo } from "./lock-manager.js";

/**
 * LockRecord is the JSON value stored under a lock key on each Redis node.
 * `nonce` identifies one lease (one acquisition) across nodes: two nodes
 * holding the same nonce hold the same lease, whatever their expiry. Times
 * are epoch milliseconds; the token is a decimal string (no float rounding in
 * Lua's cjson), absent while the winner is still being issued one.
 */
export interface LockRecord {
  nonce: string;
  ownerId: string;
  ownerName: string;
  fencingToken?: string;
  acquiredAt: number;
  expiresAt: number;
}

/** encodeRecord serializes a record for storage. */
export function encodeRecord(record: LockRecord): string {
  return JSON.stringify(record);
}

/**
 * decodeRecord parses a stored value. A value that is not one of ours (it
 * should never happen under our prefix) still counts as an occupied node, with
 * an anonymous owner, so that it blocks rather than being overwritten.
 */
export function decodeRecord(value: string): LockRecord {
  try {
    const v = JSON.parse(value) as Partial<LockRecord>;
    if (typeof v.nonce === "string" && typeof v.ownerId === "string" && typeof v.acquiredAt === "number" && typeof v.expiresAt === "number") {
      return {
        nonce: v.nonce,
        ownerId: v.ownerId,
        ownerName: typeof v.ownerName === "string" ? v.ownerName : "",
        ...(typeof v.fencingToken === "string" && /^\d+$/.test(v.fencingToken) ? { fencingToken: v.fencingToken } : {}),
        acquiredAt: v.acquiredAt,
        expiresAt: v.expiresAt,
      };
    }
  } catch {
    // fall through: not ours
  }
  return { nonce: `foreign:${value}`, ownerId: "", ownerName: "unknown", acquiredAt: 0, expiresAt: 0 };
}

/** toLockInfo converts a record to the manager's answer. */
export function toLockInfo(target: string, record: LockRecord): LockInfo {
  return {
    target,
    ownerId: record.ownerId,
    ownerName: record.ownerName,
    fencingToken: record.fencingToken === undefined ? 0n : BigInt(record.fencingToken),
    acquiredAt: new Date(record.acquiredAt),
    expiresAt: new Date(record.expiresAt),
  };
}

/**
 * escapeKeyPart keeps ids readable in Redis keys while making the key
 * unambiguous: `:` separates parts, so it (and `%`) is percent-escaped.
 */
function escapeKeyPart(part: string): string {
  return part.replace(/%/g, "%25").replace(/:/g, "%3A");
}

/** lockKey is the Redis key of one target's lease: `<prefix>lock:<scope>:<target>`. */
export function lockKey(prefix: string, scope: string, target: string): string {
  return `${prefix}lock:${escapeKeyPart(scope)}:${escapeKeyPart(target)}`;
}

/** fenceKey is the Redis key of one target's fencing counter: `<prefix>fence:<scope>:<target>`. */
export function fenceKey(prefix: string, scope: string, target: string): string {
  return `${prefix}fence:${escapeKeyPart(scope)}:${escapeKeyPart(target)}`;
}

/**
 * NodeView is what one node says about a lock key: a record, `null` (no
 * lease there) or `undefined` (the node did not answer).
 */
export type NodeView = LockRecord | null | undefined;

/**
 * Lease is one lease (one nonce) as seen across nodes: how many nodes hold it
 * and the merged record. `record.expiresAt` is the time until which a quorum
 * of the nodes that hold it keep it (the quorum-th latest expiry), or the
 * latest known expiry when fewer than a quorum were seen.
 */
export interface Lease {
  record: LockRecord;
  votes: number;
}

/** LeaseTally counts a fan-out's answers by lease. */
export interface LeaseTally {
  leases: Lease[];
  empty: number;
  unreachable: number;
  quorum: number;
}

/** tallyLeases groups the nodes' views by lease nonce. */
export function tallyLeases(views: readonly NodeView[], quorum: number): LeaseTally {
  const groups = new Map<string, LockRecord[]>();
  let empty = 0;
  let unreachable = 0;
  for (const view of views) {
    if (view === undefined) unreachable++;
    else if (view === null) empty++;
    else {
      const group = groups.get(view.nonce);
      if (group) group.push(view);
      else groups.set(view.nonce, [view]);
    }
  }
  const leases: Lease[] = [];
  for (const records of groups.values()) {
    const expiries = records.map((r) => r.expiresAt).sort((a, b) => b - a);
    const expiresAt = records.length >= quorum ? expiries[quorum - 1]! : expiries[0]!;
    const withToken = records.find((r) => r.fencingToken !== undefined);
    leases.push({ record: { ...(withToken ?? records[0]!), expiresAt }, votes: records.length });
  }
  leases.sort((a, b) => b.votes - a.votes || Number(b.record.fencingToken !== undefined) - Number(a.record.fencingToken !== undefined) || b.record.expiresAt - a.record.expiresAt);
  return { leases, empty, unreachable, quorum };
}

/**
 * provenLease answers the lease a quorum of nodes holds, if any: that lease
 * is held, by the Redlock rule. At most one lease can have a quorum.
 */
export function provenLease(tally: LeaseTally): Lease | undefined {
  const first = tally.leases[0];
  return first && first.votes >= tally.quorum ? first : undefined;
}

/**
 * possibleLeases answers the leases that may hold a quorum once the nodes
 * that did not answer are counted in, best first (most votes, finalized, latest).
 */
export function possibleLeases(tally: LeaseTally): Lease[] {
  return tally.leases.filter((l) => l.votes + tally.unreachable >= tally.quorum);
}

/**
 * likelyLease answers the proven lease, else the best possible one: the
 * answer to "who holds it?" when a node is down and the rest disagree.
 */
export function likelyLease(tally: LeaseTally): Lease | undefined {
  return provenLease(tally) ?? possibleLeases(tally)[0];
}
