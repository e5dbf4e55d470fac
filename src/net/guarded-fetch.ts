import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { DomainError } from "../domain/errors.js";
import { checkUrl, redactUrl, type PinnedUrl, type Resolver, type UrlPolicy } from "./url-guard.js";

/**
 * guardedFetch is the one HTTP client of outbound requests made for a tenant
 * (repo sync; the sandbox's `gatehouse:net`). Every request and every
 * redirect passes the URL guard (url-guard.ts) before anything connects,
 * the connection goes to the address the guard checked (a `lookup` that
 * answers only that address: no second DNS answer between check and
 * connect), TLS still verifies the certificate against the URL's host (SNI
 * and Host header are the original host), and the response is capped in
 * size and time. No proxy, no cookies, no connection reuse.
 */

/** GuardedFetchInit is the request to make. */
export interface GuardedFetchInit {
  /** method defaults to GET. */
  method?: string;
  /** headers are sent as given, except hop-by-hop ones and Host (set from the URL). */
  headers?: Record<string, string>;
  /** body is sent with a Content-Length. */
  body?: Uint8Array | string;
}

/** GuardedFetchOptions are the policy and the caps of one fetch (redirects included). */
export interface GuardedFetchOptions extends UrlPolicy {
  /** maxBytes caps the response body (each response, redirects included). */
  maxBytes: number;
  /** timeoutMs bounds the whole fetch: resolution, connection, redirects and body. */
  timeoutMs: number;
  /** maxRedirects is how many redirects are followed (0: none; a redirect is then returned as is). */
  maxRedirects: number;
  /** signal aborts the fetch. */
  signal?: AbortSignal;
  /** resolve answers a name's addresses (tests; default: the system resolver). */
  resolve?: Resolver;
  /** ca replaces the trusted certificate authorities of https (a private CA; tests). */
  ca?: string | Buffer | Array<string | Buffer>;
}

/** GuardedResponse is a response read in full (up to maxBytes). */
export interface GuardedResponse {
  status: number;
  statusText: string;
  /** headers are lowercased; repeated headers are joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** url is the URL of the final response (after redirects). */
  url: string;
  /** redirects is how many redirects were followed. */
  redirects: number;
}

/** FetchLimit names the cap a fetch ran into. */
export type FetchLimit = "bytes" | "redirects" | "time";

/**
 * FetchLimitError says a fetch ran into a cap: the response was larger than
 * maxBytes or there were more redirects than maxRedirects (INVALID_ARGUMENT,
 * field `url`), or it took longer than timeoutMs (UNAVAILABLE).
 */
export class FetchLimitError extends DomainError {
  constructor(
    /** limit is the cap that was hit. */
    readonly limit: FetchLimit,
    message: string,
  ) {
    super(limit === "time" ? "unavailable" : "invalid_argument", limit === "time" ? "UNAVAILABLE" : "INVALID_ARGUMENT", message, { field: "url" });
    this.name = "FetchLimitError";
  }
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const droppedRequestHeaders = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "expect",
]);
const crossOriginDropped = new Set(["authorization", "cookie"]);

/** pinnedLookup answers only the checked address, whatever is asked (Node 20 asks with `all: true` for autoSelectFamily). */
function pinnedLookup(target: PinnedUrl): LookupFunction {
  const { address, family } = target.address;
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as unknown as LookupFunction;
}

function headersOf(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(res.headers)) {
    if (value === undefined) continue;
    out[key.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

interface OneResponse {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: Buffer;
}

function requestOnce(target: PinnedUrl, method: string, headers: Record<string, string>, body: Buffer | undefined, maxBytes: number, signal: AbortSignal, ca: GuardedFetchOptions["ca"]): Promise<OneResponse> {
  return new Promise<OneResponse>((resolve, reject) => {
    const secure = target.url.protocol === "https:";
    const options: https.RequestOptions = {
      method,
      hostname: target.hostname,
      port: target.port,
      path: `${target.url.pathname}${target.url.search}`,
      headers: { ...headers, host: target.url.host, ...(body ? { "content-length": String(body.length) } : {}) },
      agent: false,
      lookup: pinnedLookup(target),
      signal,
    };
    if (secure && !target.literal) options.servername = target.hostname;
    if (secure && ca !== undefined) options.ca = ca;
    const req = (secure ? https : http).request(options, (res) => {
      const status = res.statusCode ?? 0;
      const declared = Number(res.headers["content-length"]);
      // Reject first: destroying the response emits "aborted" and "error" of its own.
      const tooLarge = () => {
        reject(new FetchLimitError("bytes", `the response is larger than ${maxBytes} bytes`));
        res.destroy();
        req.destroy();
      };
      if (Number.isFinite(declared) && declared > maxBytes) {
        tooLarge();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) tooLarge();
        else chunks.push(chunk);
      });
      res.on("end", () => resolve({ status, statusText: res.statusMessage ?? "", headers: headersOf(res), body: Buffer.concat(chunks, size) }));
      res.on("error", reject);
      res.on("aborted", () => reject(new DomainError("unavailable", "UNAVAILABLE", `${target.hostPort} closed the connection early`)));
    });
    req.on("error", reject);
    req.end(body);
  });
}

function upstreamError(err: unknown, target: string, signal: AbortSignal, deadlineHit: () => boolean, timeoutMs: number): unknown {
  if (err instanceof DomainError && !(deadlineHit() && err.kind === "unavailable")) return err;
  if (deadlineHit()) return new FetchLimitError("time", `fetching took longer than ${timeoutMs} ms`);
  if (signal.aborted) return new DomainError("unavailable", "UNAVAILABLE", "the fetch was cancelled");
  const code = (err as { code?: unknown }).code;
  return new DomainError("unavailable", "UNAVAILABLE", `could not fetch from ${target}${typeof code === "string" ? ` (${code})` : ""}`);
}

/**
 * guardedFetch makes one HTTP(S) request under the URL guard and answers its
 * response, read in full up to `maxBytes`. Redirects (301, 302, 303, 307,
 * 308) are followed up to `maxRedirects`, each one checked again by every
 * rule before anything connects; a 303 (or a 301/302 of a POST) continues
 * as a GET without body; Authorization and Cookie headers are dropped when a
 * redirect leaves the origin.
 *
 * Errors: INVALID_ARGUMENT (a malformed URL, a refused scheme, credentials;
 * FetchLimitError for a response over maxBytes or too many redirects);
 * PERMISSION_DENIED NETWORK_NOT_ALLOWED (a host, address or redirect the
 * policy refuses); UNAVAILABLE (unreachable, reset, or FetchLimitError for
 * taking longer than timeoutMs).
 */
export async function guardedFetch(url: string, init: GuardedFetchInit, options: GuardedFetchOptions): Promise<GuardedResponse> {
  const controller = new AbortController();
  let deadlineHit = false;
  const timer = setTimeout(() => {
    deadlineHit = true;
    controller.abort();
  }, options.timeoutMs);
  const onAbort = () => controller.abort();
  if (options.signal?.aborted) controller.abort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  let method = (init.method ?? "GET").toUpperCase();
  let body = init.body === undefined ? undefined : Buffer.from(init.body);
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(init.headers ?? {})) {
    const lower = key.toLowerCase();
    if (!droppedRequestHeaders.has(lower)) headers[lower] = value;
  }
  headers["accept-encoding"] = "identity";
  let current = url;
  let origin: string | undefined;
  const deadline = Date.now() + options.timeoutMs;
  try {
    for (let redirects = 0; ; redirects++) {
      if (controller.signal.aborted) throw new Error("aborted");
      const target = await checkUrl(current, options, {
        resolve: options.resolve,
        timeoutMs: Math.max(1, deadline - Date.now()),
        signal: controller.signal,
      });
      if (origin !== undefined && origin !== target.url.origin) for (const key of crossOriginDropped) delete headers[key];
      origin = target.url.origin;
      const res = await requestOnce(target, method, headers, body, options.maxBytes, controller.signal, options.ca);
      const location = res.headers.location;
      if (!redirectStatuses.has(res.status) || location === undefined || options.maxRedirects === 0) {
        return { ...res, url: target.url.href, redirects };
      }
      if (redirects >= options.maxRedirects) throw new FetchLimitError("redirects", `more than ${options.maxRedirects} redirects`);
      let next: URL;
      try {
        next = new URL(location, target.url);
      } catch {
        throw new DomainError("unavailable", "UNAVAILABLE", `${target.hostPort} answered a redirect to an invalid URL`);
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
        if (method !== "HEAD") method = "GET";
        body = undefined;
        delete headers["content-type"];
      }
      current = next.href;
    }
  } catch (err) {
    throw upstreamError(err, redactUrl(current), controller.signal, () => deadlineHit, options.timeoutMs);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}
