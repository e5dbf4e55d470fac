import type { EffectivePolicies } from "../policies/effective-policy.js";
import type { Database } from "../store/database.js";
import { DomainError } from "../domain/errors.js";
import { guardedFetch } from "../net/guarded-fetch.js";
import { explicitEntries } from "../net/url-guard.js";
import { HostDenied, HostError } from "../sandbox/index.js";

/** NetFetcher performs an SSRF-guarded fetch (shared with repo sync). */
export type NetFetcher = (
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
  opts: { tenantId: string; allowedHosts: readonly string[]; maxBytes: number; timeoutMs: number; signal: AbortSignal },
) => Promise<{ status: number; headers: Record<string, string>; body: string }>;

const allowedMethods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]);

/**
 * createNetFetcher is `gatehouse:net`'s fetch: the same SSRF guard as repo
 * sync (scheme, credentials, allowed hosts, every resolved address, pinned
 * connection, redirects re-checked), with exact `host:port` entries of the
 * global policy as the only explicit exceptions. The response body comes
 * back as text, capped.
 */
export function createNetFetcher(db: Database, policies: EffectivePolicies): NetFetcher {
  return async (url, init, opts) => {
    const method = (init.method ?? "GET").toUpperCase();
    if (!allowedMethods.has(method)) throw new HostError(`fetch: method ${method} is not allowed`);
    const global = await db.inTenant(opts.tenantId, (em) => policies.globalLayer(em));
    try {
      const res = await guardedFetch(
        url,
        { method, headers: init.headers, body: init.body },
        {
          allowedHosts: opts.allowedHosts,
          explicitHostPorts: explicitEntries(global.allowedHosts ?? []),
          maxBytes: opts.maxBytes,
          timeoutMs: opts.timeoutMs,
          maxRedirects: 3,
          signal: opts.signal,
        },
      );
      return { status: res.status, headers: res.headers, body: res.body.toString("utf8") };
    } catch (err) {
      if (err instanceof DomainError && (err.kind === "permission_denied" || err.kind === "invalid_argument")) {
        if (err.reason === "NETWORK_NOT_ALLOWED" || err.kind === "permission_denied") throw new HostDenied(err.message);
        throw new HostError(err.message);
      }
      if (err instanceof DomainError) throw new HostError(err.message);
      throw new HostError("fetch failed");
    }
  };
}
