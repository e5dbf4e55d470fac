import { describe, expect, it } from "vitest";
import { clientNetwork } from "../../src/auth/client-network.js";

describe("clientNetwork", () => {
  it("keeps an IPv4 address, also when written IPv4-mapped", () => {
    expect(clientNetwork("203.0.113.7")).toBe("203.0.113.7");
    expect(clientNetwork("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(clientNetwork("::ffff:cb00:7107")).toBe("203.0.113.7");
  });

  it("counts an IPv6 address under its /64, whatever its spelling", () => {
    expect(clientNetwork("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:1:2::/64");
    expect(clientNetwork("2001:0db8:0001:0002::1")).toBe("2001:db8:1:2::/64");
    expect(clientNetwork("[2001:db8:1:2::ffff]")).toBe("2001:db8:1:2::/64");
    expect(clientNetwork("2001:db8:1:3::1")).not.toBe(clientNetwork("2001:db8:1:2::1"));
    expect(clientNetwork("::1")).toBe("0:0:0:0::/64");
  });

  it("counts anything unparseable under its own text, bounded", () => {
    expect(clientNetwork("")).toBe("");
    expect(clientNetwork("x".repeat(100))).toBe("x".repeat(64));
  });
});
