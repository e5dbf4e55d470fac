import { lookup as dnsLookup } from "node:dns/promises";
import { DomainError, invalidArgument } from "../domain/errors.js";
import { matchAnyHostGlob, parseHostGlob } from "../domain/host-glob.js";
import { classifyAddress, classifyIPv4, formatIPv4, parseIPv4Loose, parseIPv6, type AddressClass } from "./ip-address.js";

/**
 * The URL guard of every outbound request Gatehouse makes for a tenant: repo
 * sync and the sandbox's `gatehouse:net` (docs/concepts.md and docs/macros.md).
 *
 * Rules, in the order they are checked:
 * 1. The URL parses, is at most 2048 characters, and has no credentials
 *    (INVALID_ARGUMENT, field `url`).
 * 2. The scheme is `https:`, or `http:` for a host:port the policy lists
 *    explicitly (an exact `host:port` entry). Any other scheme (`file:`,
 *    `git:`, `ssh:`, `ftp:`, `data:` …) is INVALID_ARGUMENT; `http:` to a
 *    host not listed explicitly is PERMISSION_DENIED NETWORK_NOT_ALLOWED.
 * 3. A host that is an IP address (in any spelling: the URL parser turns
 *    `2130706433`, `0x7f000001`, `0177.0.0.1` and `127.1` into `127.0.0.1`,
 *    and this guard parses such spellings again in case it did not) must not
 *    be in a refused range (loopback, private, link-local, CGNAT, metadata,
 *    unspecified, multicast, IPv4-mapped IPv6, unique-local, reserved; see
 *    ip-address.ts), unless its host:port is listed explicitly.
 * 4. The host matches the policy's `allowed_hosts` (host globs, see
 *    src/domain/host-glob.ts; IPv6 literals match no glob).
 * 5. (checkUrl only) The name is resolved, and EVERY address it resolves to
 *    must pass rule 3, unless the host:port is listed explicitly. The
 *    caller connects to the answered address only (see guarded-fetch.ts), so
 *    a DNS answer that changes between check and connect is never used.
 *
 * Refusals of rules 2–5 are PERMISSION_DENIED with reason
 * NETWORK_NOT_ALLOWED, field `url`, and the host or address refused as
 * `attempted_value`. Nothing here opens a connection.
 */

/** UrlPolicy is the part of an effective policy the guard applies. */
export interface UrlPolicy {
  /** allowedHosts is the effective policy's `allowed_hosts` (host globs). */
  readonly allowedHosts: readonly string[];
  /**
   * explicitHostPorts are the `host:port` entries that may use `http:` and
   * reach refused address ranges. The docs (docs/macros.md) take them from the global
   * policy's `allowed_hosts` (exact entries only); when unset, the exact
   * `host:port` entries of `allowedHosts` are used. An entry counts only
   * while `allowedHosts` allows that host:port too.
   */
  readonly explicitHostPorts?: readonly string[];
}

/** ResolvedAddress is one address a name resolved to. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolver answers every address of a host name (DNS). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** CheckedUrl is a URL that passed the static rules (1–4). */
export interface CheckedUrl {
  /** url is the parsed URL, without its fragment. */
  readonly url: URL;
  /** hostname is the host to connect to and to name in SNI and Host: lowercase, no brackets, no trailing dot. */
  readonly hostname: string;
  /** port is the port, explicit or the scheme's default. */
  readonly port: number;
  /** hostPort is `hostname:port`, the key of explicit entries. */
  readonly hostPort: string;
  /** explicit says the host:port is listed explicitly (rule 2 and 3 exemptions). */
  readonly explicit: boolean;
  /** literal is the IP address when the host is one, else undefined. */
  readonly literal: ResolvedAddress | undefined;
}

/** PinnedUrl is a URL that passed every rule, with the address to connect to. */
export interface PinnedUrl extends CheckedUrl {
  /** address is the checked address the connection must use (the first one resolved). */
  readonly address: ResolvedAddress;
  /** addresses are every address the name resolved to, all checked. */
  readonly addresses: readonly ResolvedAddress[];
}

/** CheckUrlOptions tune checkUrl. */
export interface CheckUrlOptions {
  /** resolve answers a name's addresses (default: the system resolver, every address). */
  resolve?: Resolver;
  /** timeoutMs bounds name resolution (default 5000). */
  timeoutMs?: number;
  /** signal aborts name resolution. */
  signal?: AbortSignal;
}

/** maxUrlLength is the longest URL the guard accepts. */
export const maxUrlLength = 2048;

const defaultPorts: Record<string, number> = { "https:": 443, "http:": 80 };

/** networkNotAllowed builds the PERMISSION_DENIED NETWORK_NOT_ALLOWED refusal naming what was refused. */
export function networkNotAllowed(what: string, why: string): DomainError {
  return new DomainError("permission_denied", "NETWORK_NOT_ALLOWED", `network access not allowed: ${why}`, {
    field: "url",
    attemptedValue: what,
  });
}

/** redactUrl writes a URL without credentials, query or fragment (for errors and logs). */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}`.slice(0, 256);
  } catch {
    return raw.replace(/\/\/[^/@]*@/, "//").slice(0, 256);
  }
}

/** explicitEntries answers the exact `host:port` entries of a list of host globs, lowercased. */
export function explicitEntries(globs: readonly string[]): string[] {
  const out: string[] = [];
  for (const text of globs) {
    const glob = parseHostGlob(text);
    if (glob && glob.wildcard === "none" && glob.labels.length > 0 && typeof glob.port === "number") {
      out.push(`${glob.labels.join(".")}:${glob.port}`);
    }
  }
  return out;
}

function literalOf(hostname: string): ResolvedAddress | undefined {
  if (hostname.startsWith("[")) {
    const v6 = parseIPv6(hostname);
    return v6 === undefined ? undefined : { address: hostname.slice(1, -1), family: 6 };
  }
  const v4 = parseIPv4Loose(hostname);
  return v4 === undefined ? undefined : { address: formatIPv4(v4), family: 4 };
}

function refusedClass(address: ResolvedAddress): AddressClass | undefined {
  if (address.family === 4) {
    const v4 = parseIPv4Loose(address.address);
    return v4 === undefined ? "reserved" : classifyIPv4(v4);
  }
  return classifyAddress(address.address);
}

function describeClass(cls: AddressClass): string {
  switch (cls) {
    case "ipv4-mapped":
      return "an IPv4-mapped IPv6 address";
    case "cgnat":
      return "a carrier-grade NAT address";
    case "metadata":
      return "a cloud metadata address";
    case "unspecified":
      return "the unspecified address";
    case "broadcast":
      return "the broadcast address";
    default:
      return `a ${cls} address`;
  }
}

/**
 * checkUrlStatic applies rules 1–4 without resolving names, and answers the
 * parsed URL; used where a URL is stored (UpdateRepo) and as the first step
 * of checkUrl. Throws INVALID_ARGUMENT or NETWORK_NOT_ALLOWED.
 */
export function checkUrlStatic(raw: string | URL, policy: UrlPolicy): CheckedUrl {
  const text = typeof raw === "string" ? raw : raw.href;
  if (text.length > maxUrlLength) throw invalidArgument("url", `must be at most ${maxUrlLength} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidArgument("url", "is not a valid absolute URL", redactUrl(text));
  }
  if (url.username !== "" || url.password !== "") {
    throw invalidArgument("url", "must not contain credentials (user:password@)", redactUrl(text));
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw invalidArgument("url", `scheme ${url.protocol}// is not allowed: use https:// (or http:// for a host:port allowed explicitly)`, url.protocol);
  }
  url.hash = "";
  let hostname = url.hostname.toLowerCase();
  if (hostname.endsWith(".")) hostname = hostname.slice(0, -1);
  if (hostname === "") throw invalidArgument("url", "has no host", redactUrl(text));
  const port = url.port === "" ? defaultPorts[url.protocol]! : Number(url.port);
  const literal = literalOf(hostname);
  // A host that is an IPv4 address in disguise is checked as that address.
  const canonicalHost = literal?.family === 4 ? literal.address : hostname;
  const hostPort = `${canonicalHost}:${port}`;
  const hostForGlobs = url.port === "" ? canonicalHost : hostPort;
  const allowedByGlob = !canonicalHost.startsWith("[") && matchAnyHostGlob(policy.allowedHosts, hostForGlobs);
  const ownExplicit = explicitEntries(policy.allowedHosts);
  const explicitList = policy.explicitHostPorts ? explicitEntries(policy.explicitHostPorts) : ownExplicit;
  // An explicit entry counts only while the effective list allows it too.
  const explicit = explicitList.includes(hostPort) && (allowedByGlob || ownExplicit.includes(hostPort));
  if (url.protocol === "http:" && !explicit) {
    throw networkNotAllowed(hostPort, `http:// is allowed only for a host:port listed explicitly in allowed_hosts (${hostPort} is not); use https://`);
  }
  if (literal && !explicit) {
    const cls = refusedClass(literal);
    if (cls !== undefined) throw networkNotAllowed(literal.address, `${literal.address} is ${describeClass(cls)}`);
  }
  if (!allowedByGlob && !explicit) {
    throw networkNotAllowed(canonicalHost, `host ${canonicalHost} is not in the policy's allowed_hosts`);
  }
  return {
    url,
    hostname: literal?.family === 6 ? literal.address : canonicalHost,
    port,
    hostPort,
    explicit,
    literal,
  };
}

/** systemResolver answers every address of a name through the system resolver (getaddrinfo, /etc/hosts included). */
export const systemResolver: Resolver = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

async function resolveWithin(resolve: Resolver, hostname: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<ResolvedAddress[]> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      resolve(hostname),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DomainError("unavailable", "UNAVAILABLE", `resolving ${hostname} took longer than ${timeoutMs} ms`)), timeoutMs);
        onAbort = () => reject(new DomainError("unavailable", "UNAVAILABLE", `resolving ${hostname} was cancelled`));
        if (signal?.aborted) onAbort();
        else signal?.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } catch (err) {
    if (err instanceof DomainError) throw err;
    const code = (err as { code?: unknown }).code;
    throw new DomainError("unavailable", "UNAVAILABLE", `could not resolve ${hostname}${typeof code === "string" ? ` (${code})` : ""}`);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * checkUrl applies every rule (1–5): the static ones, then resolves the
 * name and checks every address it resolves to. It answers the address to
 * pin the connection to. Nothing is connected to.
 */
export async function checkUrl(raw: string | URL, policy: UrlPolicy, options: CheckUrlOptions = {}): Promise<PinnedUrl> {
  const checked = checkUrlStatic(raw, policy);
  if (checked.literal) return { ...checked, address: checked.literal, addresses: [checked.literal] };
  const answers = await resolveWithin(options.resolve ?? systemResolver, checked.hostname, options.timeoutMs ?? 5000, options.signal);
  if (answers.length === 0) throw new DomainError("unavailable", "UNAVAILABLE", `${checked.hostname} has no address`);
  if (!checked.explicit) {
    for (const answer of answers) {
      const cls = refusedClass(answer);
      if (cls !== undefined) {
        throw networkNotAllowed(`${checked.hostname} → ${answer.address}`, `${checked.hostname} resolves to ${answer.address}, ${describeClass(cls)}`);
      }
    }
  }
  return { ...checked, address: answers[0]!, addresses: answers };
}
