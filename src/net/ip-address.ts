/**
 * IP address parsing and classification for the URL guard (docs/macros.md):
 * which addresses outbound requests of repo sync and `gatehouse:net` must
 * never reach unless a host:port is allowed explicitly.
 *
 * Written here rather than taken from a package: the rules are few, and each
 * one is tested (test/net/ip-address.test.ts). Addresses are handled as
 * integers (IPv4: a 32-bit number, IPv6: a 128-bit bigint), so there is one
 * canonical value whatever the spelling.
 */

/**
 * AddressClass names why an address is refused: what kind of network it
 * belongs to. Public unicast addresses have none.
 */
export type AddressClass =
  | "unspecified"
  | "loopback"
  | "private"
  | "link-local"
  | "cgnat"
  | "metadata"
  | "multicast"
  | "broadcast"
  | "ipv4-mapped"
  | "unique-local"
  | "documentation"
  | "reserved";

/** IpAddress is a parsed address: IPv4 as a 32-bit number, IPv6 as a 128-bit bigint. */
export type IpAddress = { family: 4; value: number } | { family: 6; value: bigint };

const v4Part = /^(?:0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*)$/i;

/**
 * parseIPv4 parses a strict dotted quad (`a.b.c.d`, decimal, no leading
 * zeros); undefined for anything else.
 */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

/**
 * parseIPv4Loose parses every spelling of an IPv4 address that inet_aton(3)
 * and the WHATWG URL parser accept: one to four parts, each decimal, octal
 * (leading `0`) or hexadecimal (`0x`), the last part filling the remaining
 * bytes (`127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`, `0x7f.0.0.1`); a
 * trailing dot is allowed. Undefined when `text` is not such a spelling.
 * The URL guard uses it to treat any host that is an IPv4 address in
 * disguise as that address.
 */
export function parseIPv4Loose(text: string): number | undefined {
  let body = text;
  if (body.endsWith(".")) body = body.slice(0, -1);
  const parts = body.split(".");
  if (parts.length < 1 || parts.length > 4) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    if (!v4Part.test(part)) return undefined;
    let n: number;
    if (/^0x/i.test(part)) n = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (part.length > 1 && part.startsWith("0")) n = parseInt(part.slice(1), 8);
    else n = Number(part);
    if (!Number.isFinite(n)) return undefined;
    numbers.push(n);
  }
  const last = numbers.pop()!;
  for (const n of numbers) if (n > 255) return undefined;
  if (last >= 256 ** (4 - numbers.length)) return undefined;
  let value = 0;
  for (const n of numbers) value = value * 256 + n;
  return value * 256 ** (4 - numbers.length) + last;
}

/**
 * parseIPv6 parses an IPv6 address (with `::` compression and an optional
 * trailing dotted quad, as in `::ffff:127.0.0.1`; surrounding brackets are
 * accepted). Zone ids (`fe80::1%eth0`) are refused (undefined).
 */
export function parseIPv6(text: string): bigint | undefined {
  let body = text;
  if (body.startsWith("[") && body.endsWith("]")) body = body.slice(1, -1);
  if (body.includes("%") || body.length === 0 || body.length > 45) return undefined;
  const lastColon = body.lastIndexOf(":");
  if (lastColon < 0) return undefined;
  const lastPart = body.slice(lastColon + 1);
  if (lastPart.includes(".")) {
    // A trailing dotted quad is the last two groups.
    const quad = parseIPv4(lastPart);
    if (quad === undefined) return undefined;
    body = `${body.slice(0, lastColon + 1)}${(quad >>> 16).toString(16)}:${(quad & 0xffff).toString(16)}`;
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const rest = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (head === undefined || rest === undefined) return undefined;
  const given = head.length + rest.length;
  let groups: number[];
  if (halves.length === 2) {
    if (given > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - given).fill(0), ...rest];
  } else {
    if (given !== 8) return undefined;
    groups = head;
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/**
 * parseIpAddress parses an address as DNS answers give it (a dotted quad or
 * an IPv6 address, brackets allowed); undefined for anything else.
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIPv6(text);
  if (v6 !== undefined) return { family: 6, value: v6 };
  return undefined;
}

/** formatIPv4 writes a 32-bit number as a dotted quad. */
export function formatIPv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

interface V4Range {
  base: number;
  bits: number;
  cls: AddressClass;
}

function v4(cidr: string, cls: AddressClass): V4Range {
  const [addr, bits] = cidr.split("/");
  return { base: parseIPv4(addr!)!, bits: Number(bits), cls };
}

/** Checked in order: the first range that contains the address names its class. */
const v4Ranges: readonly V4Range[] = [
  v4("169.254.169.254/32", "metadata"), // AWS, GCP, Azure, OpenStack, DigitalOcean instance metadata
  v4("168.63.129.16/32", "metadata"), // Azure platform endpoint (wireserver)
  v4("100.100.100.200/32", "metadata"), // Alibaba Cloud metadata
  v4("0.0.0.0/32", "unspecified"),
  v4("0.0.0.0/8", "reserved"), // "this network"
  v4("10.0.0.0/8", "private"),
  v4("100.64.0.0/10", "cgnat"),
  v4("127.0.0.0/8", "loopback"),
  v4("169.254.0.0/16", "link-local"),
  v4("172.16.0.0/12", "private"),
  v4("192.0.0.0/24", "reserved"), // IETF protocol assignments
  v4("192.0.2.0/24", "documentation"),
  v4("192.88.99.0/24", "reserved"), // 6to4 relay anycast
  v4("192.168.0.0/16", "private"),
  v4("198.18.0.0/15", "reserved"), // benchmarking
  v4("198.51.100.0/24", "documentation"),
  v4("203.0.113.0/24", "documentation"),
  v4("224.0.0.0/4", "multicast"),
  v4("255.255.255.255/32", "broadcast"),
  v4("240.0.0.0/4", "reserved"),
];

/** classifyIPv4 answers the class of a refused IPv4 address, or undefined for a public one. */
export function classifyIPv4(value: number): AddressClass | undefined {
  for (const range of v4Ranges) {
    const size = 2 ** (32 - range.bits);
    if (value >= range.base && value < range.base + size) return range.cls;
  }
  return undefined;
}

interface V6Range {
  base: bigint;
  bits: number;
  cls: AddressClass | "embedded-v4-nat64" | "embedded-v4-6to4";
}

function v6(cidr: string, cls: V6Range["cls"]): V6Range {
  const [addr, bits] = cidr.split("/");
  return { base: parseIPv6(addr!)!, bits: Number(bits), cls };
}

const v6Ranges: readonly V6Range[] = [
  v6("::/128", "unspecified"),
  v6("::1/128", "loopback"),
  v6("::ffff:0:0/96", "ipv4-mapped"),
  v6("::/96", "reserved"), // IPv4-compatible (deprecated)
  v6("64:ff9b::/96", "embedded-v4-nat64"),
  v6("64:ff9b:1::/48", "reserved"), // local-use NAT64
  v6("100::/64", "reserved"), // discard-only
  v6("2001:db8::/32", "documentation"),
  v6("2001::/23", "reserved"), // IETF protocol assignments, Teredo (2001::/32), ORCHID
  v6("2002::/16", "embedded-v4-6to4"),
  v6("fd00:ec2::254/128", "metadata"), // AWS instance metadata over IPv6
  v6("fc00::/7", "unique-local"),
  v6("fe80::/10", "link-local"),
  v6("fec0::/10", "reserved"), // site-local (deprecated)
  v6("ff00::/8", "multicast"),
];

const globalUnicast = v6("2000::/3", "reserved");

function inV6(value: bigint, range: V6Range): boolean {
  const shift = BigInt(128 - range.bits);
  return value >> shift === range.base >> shift;
}

/**
 * classifyIPv6 answers the class of a refused IPv6 address, or undefined for
 * a public one. IPv4-mapped addresses (`::ffff:a.b.c.d`) are always refused,
 * whatever they map to; NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`)
 * addresses take the class of the IPv4 address they embed; anything outside
 * global unicast (`2000::/3`) is reserved.
 */
export function classifyIPv6(value: bigint): AddressClass | undefined {
  for (const range of v6Ranges) {
    if (!inV6(value, range)) continue;
    if (range.cls === "embedded-v4-nat64") return classifyIPv4(Number(value & 0xffffffffn));
    if (range.cls === "embedded-v4-6to4") return classifyIPv4(Number((value >> 80n) & 0xffffffffn));
    return range.cls;
  }
  if (!inV6(value, globalUnicast)) return "reserved";
  return undefined;
}

/**
 * classifyAddress answers why an address (as DNS answers it) must not be
 * reached — loopback, private, link-local, CGNAT, metadata, unspecified,
 * multicast, IPv4-mapped, unique-local, documentation or otherwise reserved —
 * or undefined for a public unicast address. Text that is no address at all
 * is `reserved` (refused).
 */
export function classifyAddress(text: string): AddressClass | undefined {
  const parsed = parseIpAddress(text);
  if (parsed === undefined) return "reserved";
  return parsed.family === 4 ? classifyIPv4(parsed.value) : classifyIPv6(parsed.value);
}
