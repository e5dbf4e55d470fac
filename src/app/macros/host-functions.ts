import type { Principal } from "../../context.js";
import type { EffectivePolicy } from "../../domain/policy.js";
import { matchAnyHostGlob } from "../../domain/host-glob.js";
import { collectionPattern, recordIdPattern, storeCollectionResource, storeRecordResource, type RuleAction } from "../../domain/rules.js";
import type { NetFetcher } from "../../macros/net-fetcher.js";
import type { RuleCache } from "../../rules/rule-cache.js";
import { decideRule, ruleSubjectsOf } from "../../rules/rule-decision.js";
import { HostDenied, HostError, type HostCall } from "../../sandbox/index.js";
import type { StoreRecordStore } from "../../store/store-records.js";
import { actorUuid } from "../actor.js";
import type { Call } from "../call.js";

/** RunScope is who runs which macro where: what every host call is authorized against. */
export interface RunScope {
  principal: Principal;
  roomId: string;
  macroId: string;
  policy: EffectivePolicy;
  /** roomRole is the caller's role in the room (1 viewer, 2 editor, 3 admin). */
  roomRole: number;
}

const maxDocBytes = 256 * 1024;

function collectionOf(value: unknown): string {
  if (typeof value !== "string" || !collectionPattern.test(value)) throw new HostError("collection must be 1-64 letters, digits, _ or -");
  return value;
}

function idOf(value: unknown): string {
  if (typeof value !== "string" || !recordIdPattern.test(value)) throw new HostError("id must be 1-128 letters, digits or _ . : @ -");
  return value;
}

/** HostCallDeps are what the host functions of a run reach: the rules, the record store and the guarded fetch. */
export interface HostCallDeps {
  rules: RuleCache;
  storeRecords: StoreRecordStore;
  netFetch: NetFetcher;
}

/**
 * createHostCall builds the host functions of one run. Every store and net
 * call is authorized for the caller exactly as docs/concepts.md says: (the
 * baseline allows it, or an ALLOW rule matches) and no DENY rule matches,
 * decided by decideRule (src/rules/rule-decision.ts) on the resources
 * EvaluateRules takes: `collection/id` for get, put and remove,
 * `collection` for list, the URL's host for fetch. Lists are filtered to the
 * records the caller may read.
 */
export function createHostCall(deps: HostCallDeps, call: Call, scope: RunScope): HostCall {
  const { principal, roomId, macroId, policy } = scope;
  const subjects = ruleSubjectsOf(principal, roomId, macroId);
  const decide = (action: RuleAction, resource: string, baselineAllowed: boolean) =>
    decideRule(deps.rules, principal.tenantId, { subjects, action, resource, baselineAllowed });
  const authorize = async (action: RuleAction, resource: string, baselineAllowed: boolean): Promise<void> => {
    const decision = await decide(action, resource, baselineAllowed);
    if (!decision.allowed) {
      const by = decision.decidingRuleIds.length > 0 ? ` by rule ${decision.decidingRuleIds.join(", ")}` : " (no rule allows it and the baseline does not)";
      throw new HostDenied(`${action} on ${resource} denied${by}`);
    }
  };
  // Each store call is a transaction of its own (RunMacro is a read: call.inTx opens one per use).
  const records = deps.storeRecords;

  return async (module, fn, args, options) => {
    if (module === "gatehouse:store") {
      const collection = collectionOf(args[0]);
      switch (fn) {
        case "get": {
          const id = idOf(args[1]);
          const row = await call.inTx((tx) => records.get(tx, roomId, collection, id));
          await authorize("store.read", storeRecordResource(collection, id), scope.roomRole >= 1 || row?.ownerId === principal.userId);
          return row ? row.doc : null;
        }
        case "list": {
          const opts = (args[1] ?? {}) as { limit?: unknown; after?: unknown };
          const limit = opts.limit === undefined ? 50 : Number(opts.limit);
          if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new HostError("limit must be an integer from 1 to 500");
          const after = opts.after === undefined || opts.after === null ? undefined : idOf(opts.after);
          await authorize("store.list", storeCollectionResource(collection), scope.roomRole >= 1);
          const rows = await call.inTx((tx) => records.list(tx, roomId, collection, { after, limit: limit + 1 }));
          const more = rows.length > limit;
          const page = rows.slice(0, limit);
          const items: Array<{ id: string; doc: unknown }> = [];
          for (const row of page) {
            const decision = await decide("store.read", storeRecordResource(collection, row.recordId), scope.roomRole >= 1 || row.ownerId === principal.userId);
            if (decision.allowed) items.push({ id: row.recordId, doc: row.doc });
          }
          return { items, next: more ? page[page.length - 1]!.recordId : null };
        }
        case "put": {
          const id = idOf(args[1]);
          const doc = args[2];
          const text = JSON.stringify(doc ?? null);
          if (Buffer.byteLength(text) > maxDocBytes) throw new HostError(`document larger than ${maxDocBytes} bytes`);
          await authorize("store.write", storeRecordResource(collection, id), scope.roomRole >= 2);
          await call.inTx((tx) => records.put(tx, { tenantId: principal.tenantId, roomId, collection, recordId: id, doc: doc ?? null, ownerId: actorUuid(principal) }));
          return true;
        }
        case "remove": {
          const id = idOf(args[1]);
          await authorize("store.delete", storeRecordResource(collection, id), scope.roomRole >= 2);
          return call.inTx((tx) => records.remove(tx, roomId, collection, id));
        }
        default:
          throw new HostError(`gatehouse:store has no function ${fn}`);
      }
    }
    if (module === "gatehouse:net" && fn === "fetch") {
      const raw = args[0];
      if (typeof raw !== "string") throw new HostError("fetch(url): url must be a string");
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new HostError("fetch(url): not a URL");
      }
      if (!policy.networkEnabled) throw new HostDenied("network access not allowed by the policy (network_enabled is false)");
      const hostAllowed = matchAnyHostGlob(policy.allowedHosts, url.host);
      await authorize("net.fetch", url.host, hostAllowed);
      // An ALLOW rule admits a host the policy's allowed_hosts does not list, as
      // EvaluateRules says; the fetcher's address guard (private ranges, http://
      // only to explicit host:port entries of the global policy) still applies.
      const allowedHosts = hostAllowed ? policy.allowedHosts : [...policy.allowedHosts, url.host];
      const init = (args[1] ?? {}) as { method?: string; headers?: Record<string, string>; body?: string };
      const res = await deps.netFetch(raw, init, {
        tenantId: principal.tenantId,
        allowedHosts,
        maxBytes: Math.min(policy.maxOutputBytes * 4, 1024 * 1024),
        timeoutMs: Math.min(policy.timeoutMs, 10_000),
        signal: options.signal,
      });
      return res;
    }
    throw new HostError(`${module} has no function ${fn}`);
  };
}
