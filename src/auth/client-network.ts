import { formatIPv4, parseIPv4, parseIPv6 } from "../net/ip-address.js";

/**
 * clientNetwork names the network a client address counts under for limits
 * on failed authentication: an IPv4 address itself (also when written as an
 * IPv4-mapped IPv6 address, `::ffff:a.b.c.d`, as dual-stack sockets report
 * it), an IPv6 address its /64 (one host usually holds a whole /64, so
 * counting single addresses would let it rotate through 2^64 of them).
 * Anything unparseable counts under its own text.
 */
export function clientNetwork(ip: string): string {
  const v4 = parseIPv4(ip);
  if (v4 !== undefined) return formatIPv4(v4);
  const v6 = parseIPv6(ip);
  if (v6 === undefined) return ip.slice(0, 64);
  if (v6 >> 32n === 0xffffn) return formatIPv4(Number(v6 & 0xffffffffn));
  const prefix = v6 >> 64n;
  const groups = [48n, 32n, 16n, 0n].map((shift) => ((prefix >> shift) & 0xffffn).toString(16));
  return `${groups.join(":")}::/64`;
}
