import { randomUUID } from "node:crypto";
import { defaultTenantName, tenantNamePattern } from "../domain/names.js";
import type { AuditRecord, AuditStore } from "../interceptors/audit.js";
import type { Logger } from "../logger.js";
import type { LimiterFactory } from "../shared-state/rate-limiters.js";
import type { Database } from "../store/database.js";
import { ormTenantStore } from "../store/tenants.js";
import { clientNetwork } from "./client-network.js";

/** recordsPerAccount is how many refused logins per (tenant, username, client network) per window get a record each. */
export const recordsPerAccount = 20;
/** recordsPerClient is how many refused logins per client network per window get a record each, whatever the usernames. */
export const recordsPerClient = 100;

/** RefusedLogin is a login attempt that was refused, as tried. */
export interface RefusedLogin {
  /** tenantName is the tenant name as sent. */
  tenantName: string;
  username: string;
  ip: string;
  /** tenantId is the tenant's id when the handler already looked it up. */
  tenantId?: string;
}

/** LoginAttemptRecord says where a refused attempt's own record goes, when it gets one. */
export interface LoginAttemptRecord {
  /** tenantId is the chain it goes to: the named tenant, or the platform tenant when that does not exist. */
  tenantId: string;
  /** details are facts the record carries: the attempt's number in its window, and the tenant name tried when unknown. */
  details: Record<string, unknown>;
}

/**
 * LoginAudit bounds the records of refused login attempts so that a flood
 * cannot fill the audit log: per (tenant, username, client network) and per
 * lockout window (GATEHOUSE_LOCKOUT_USER_WINDOW_SECONDS, aligned to the
 * epoch), the first 20 refused attempts get a record each; after that, one
 * summary record carries the window's count. A second bound caps the records
 * of one client network over all usernames (100 per window, then a summary
 * of its own), so rotating usernames does not lift the bound. Counts live
 * in Redis when configured (every replica counts together). The replica
 * whose attempt first went over a bound writes that summary when the window
 * ends (or at once when it shuts down, with the count so far). Successful
 * logins are never counted here: each one starts a session and is recorded.
 */
export interface LoginAudit {
  /**
   * refused counts a refused attempt and answers where its record goes, or
   * undefined when it is over a bound (it is then counted in a summary).
   */
  refused(attempt: RefusedLogin): Promise<LoginAttemptRecord | undefined>;
  /** tenantIdOf answers a tenant's id by name (found ids cached a minute), undefined when there is none. */
  tenantIdOf(name: string): Promise<string | undefined>;
  /** close writes the pending summaries now (the count so far) and stops their timers. */
  close(): Promise<void>;
}

/** printable renders text for a record: control characters and lone surrogates escaped, at most `max` characters. */
export function printable(text: string, max: number): string {
  return JSON.stringify(text).slice(1, -1).slice(0, max);
}

interface Pending {
  key: string;
  windowStart: number;
  windowEnd: number;
  scope: "account" | "client";
  tenantName: string;
  username: string;
  network: string;
  ip: string;
  recorded: number;
  timer: NodeJS.Timeout;
}

/** createLoginAudit builds the bound over the shared limiters, writing summaries to `audit`. */
export function createLoginAudit(input: {
  limiters: LimiterFactory;
  audit: AuditStore<unknown>;
  db: Database;
  logger: Logger;
  windowSeconds: number;
  now?: () => number;
}): LoginAudit {
  const now = input.now ?? Date.now;
  const windowMs = input.windowSeconds * 1000;
  // A counter that never refuses: consume answers the exact count, atomically across replicas.
  const ceiling = 1_000_000_000;
  const counts = input.limiters({ name: "login-audit", points: ceiling, durationSeconds: 2 * input.windowSeconds + 120 });
  const count = async (key: string) => {
    const res = await counts.consume(key);
    return res.ok ? ceiling - res.remaining : ceiling + 1;
  };
  const tenants = new Map<string, { id: string; at: number }>();
  const pending = new Map<string, Pending>();

  const tenantIdOf = async (name: string): Promise<string | undefined> => {
    // No tenant can have a name outside the pattern: no need to ask (nor to send the database a NUL).
    if (!tenantNamePattern.test(name)) return undefined;
    const hit = tenants.get(name);
    if (hit && now() - hit.at < 60_000) return hit.id;
    const id = await input.db.asSystem((tx) => ormTenantStore.findIdByName(tx, name));
    // Only found tenants are kept: a tenant created a moment later must be found at once.
    if (id) {
      if (tenants.size >= 10_000) tenants.clear();
      tenants.set(name, { id, at: now() });
    }
    return id;
  };

  const writeSummary = async (p: Pending, final: boolean) => {
    pending.delete(p.key);
    clearTimeout(p.timer);
    const state = await counts.get(p.key);
    const attempts = state?.consumed ?? p.recorded + 1;
    const named = p.scope === "account" ? await tenantIdOf(p.tenantName) : undefined;
    const tenantId = named ?? (await tenantIdOf(defaultTenantName));
    if (!tenantId) return;
    const record: AuditRecord = {
      tenantId,
      actorName: p.scope === "account" ? p.username : "",
      ip: p.ip,
      userAgent: "",
      requestId: randomUUID(),
      method: "gatehouse.v1.AuthService/Login",
      action: "auth.login",
      resource: p.scope === "account" ? `user:${p.username}` : `client:${p.network}`,
      outcome: "DENIED",
      reason: "LOGIN_ATTEMPTS_SUMMARY",
      details: {
        summary: p.scope,
        attempts,
        recorded: p.recorded,
        notRecorded: Math.max(0, attempts - p.recorded),
        clientNetwork: p.network,
        windowStart: new Date(p.windowStart).toISOString(),
        windowEnd: new Date(p.windowEnd).toISOString(),
        windowComplete: final,
        ...(p.scope === "account" ? { username: p.username, ...(named ? {} : { tenant: p.tenantName }) } : {}),
      },
    };
    await input.audit.appendStandalone(record);
  };

  const schedule = (p: Omit<Pending, "timer">) => {
    if (pending.has(p.key)) return;
    // A little after the window's end, so attempts still in flight are counted.
    const timer = setTimeout(() => {
      const entry = pending.get(p.key);
      if (entry) void writeSummary(entry, true).catch((err: unknown) => input.logger.error({ err }, "login summary audit record failed"));
    }, Math.max(0, p.windowEnd - now()) + 2000);
    timer.unref();
    pending.set(p.key, { ...p, timer });
  };

  return {
    async refused(attempt) {
      const t = now();
      const windowStart = Math.floor(t / windowMs) * windowMs;
      const windowEnd = windowStart + windowMs;
      const network = clientNetwork(attempt.ip);
      const tenantName = printable(attempt.tenantName.toLowerCase(), 64);
      const username = printable(attempt.username.toLowerCase(), 64);
      const accountKey = `${windowStart}:a:${tenantName}\u0000${username}\u0000${network}`;
      const n = await count(accountKey);
      const base = { windowStart, windowEnd, tenantName, username, network, ip: attempt.ip };
      if (n > recordsPerAccount) {
        if (n === recordsPerAccount + 1) schedule({ key: accountKey, scope: "account", recorded: recordsPerAccount, ...base });
        return undefined;
      }
      const clientKey = `${windowStart}:c:${network}`;
      const m = await count(clientKey);
      if (m > recordsPerClient) {
        if (m === recordsPerClient + 1) schedule({ key: clientKey, scope: "client", recorded: recordsPerClient, ...base });
        return undefined;
      }
      const named = attempt.tenantId ?? (await tenantIdOf(attempt.tenantName));
      const tenantId = named ?? (await tenantIdOf(defaultTenantName));
      if (!tenantId) return undefined;
      return { tenantId, details: { attempt: n, ...(named ? {} : { tenant: tenantName }) } };
    },
    tenantIdOf,
    async close() {
      const all = [...pending.values()];
      await Promise.all(all.map((p) => writeSummary(p, false).catch((err: unknown) => input.logger.error({ err }, "login summary audit record failed"))));
    },
  };
}
