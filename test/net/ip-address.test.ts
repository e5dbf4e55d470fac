import { describe, expect, it } from "vitest";
import { classifyAddress, formatIPv4, parseIPv4, parseIPv4Loose, parseIPv6 } from "../../src/net/ip-address.js";

describe("parseIPv4Loose", () => {
  it.each([
    ["127.0.0.1", "127.0.0.1"],
    ["2130706433", "127.0.0.1"],
    ["0x7f000001", "127.0.0.1"],
    ["0X7F000001", "127.0.0.1"],
    ["0177.0.0.1", "127.0.0.1"],
    ["0177.0000.0.01", "127.0.0.1"],
    ["0x7f.0.0.1", "127.0.0.1"],
    ["0x7f.1", "127.0.0.1"],
    ["127.1", "127.0.0.1"],
    ["127.0.1", "127.0.0.1"],
    ["017700000001", "127.0.0.1"],
    ["127.0.0.1.", "127.0.0.1"],
    ["0", "0.0.0.0"],
    ["0x", "0.0.0.0"],
    ["3232235777", "192.168.1.1"],
    ["0xa9fea9fe", "169.254.169.254"],
    ["169.254.43518", "169.254.169.254"],
    ["4294967295", "255.255.255.255"],
  ])("reads %s as %s", (text, address) => {
    const value = parseIPv4Loose(text);
    expect(value).toBeDefined();
    expect(formatIPv4(value!)).toBe(address);
  });

  it.each(["4294967296", "256.0.0.1", "1.2.3.4.5", "08.0.0.1", "0x1g", "example.com", "1..2", "", "127.0.0.256", "-1", "1e3"])("refuses %j", (text) => {
    expect(parseIPv4Loose(text)).toBeUndefined();
  });
});

describe("parseIPv4", () => {
  it("reads only strict dotted quads", () => {
    expect(parseIPv4("10.0.0.1")).toBe(0x0a000001);
    expect(parseIPv4("010.0.0.1")).toBeUndefined();
    expect(parseIPv4("127.1")).toBeUndefined();
    expect(parseIPv4("2130706433")).toBeUndefined();
  });
});

describe("parseIPv6", () => {
  it.each([
    ["::", 0n],
    ["::1", 1n],
    ["[::1]", 1n],
    ["0:0:0:0:0:0:0:1", 1n],
    ["::ffff:127.0.0.1", 0xffff7f000001n],
    ["::ffff:7f00:1", 0xffff7f000001n],
    ["0:0:0:0:0:ffff:127.0.0.1", 0xffff7f000001n],
    ["fd00:ec2::254", 0xfd000ec2000000000000000000000254n],
    ["2001:DB8::1", 0x20010db8000000000000000000000001n],
  ])("reads %s", (text, value) => {
    expect(parseIPv6(text)).toBe(value);
  });

  it.each(["fe80::1%eth0", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "::ffff:127.1", "::ffff:1.2.3.4.5", "g::", "1.2.3.4", ""])("refuses %j", (text) => {
    expect(parseIPv6(text)).toBeUndefined();
  });
});

describe("classifyAddress", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.0.1", "private"],
    ["169.254.1.1", "link-local"],
    ["169.254.169.254", "metadata"],
    ["168.63.129.16", "metadata"],
    ["100.100.100.200", "metadata"],
    ["100.64.0.1", "cgnat"],
    ["100.127.255.255", "cgnat"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "reserved"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["240.0.0.1", "reserved"],
    ["192.0.2.10", "documentation"],
    ["198.18.0.1", "reserved"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "ipv4-mapped"],
    ["::ffff:7f00:1", "ipv4-mapped"],
    ["::ffff:8.8.8.8", "ipv4-mapped"],
    ["::ffff:169.254.169.254", "ipv4-mapped"],
    ["::127.0.0.1", "reserved"],
    ["64:ff9b::127.0.0.1", "loopback"],
    ["64:ff9b::a9fe:a9fe", "metadata"],
    ["2002:7f00:1::", "loopback"],
    ["2002:c0a8:101::1", "private"],
    ["2001::1", "reserved"],
    ["2001:db8::1", "documentation"],
    ["fc00::1", "unique-local"],
    ["fd12:3456::1", "unique-local"],
    ["fd00:ec2::254", "metadata"],
    ["fe80::1", "link-local"],
    ["febf::1", "link-local"],
    ["fec0::1", "reserved"],
    ["ff02::1", "multicast"],
    ["100::1", "reserved"],
    ["4000::1", "reserved"],
    ["not-an-address", "reserved"],
  ])("refuses %s as %s", (address, cls) => {
    expect(classifyAddress(address)).toBe(cls);
  });

  it.each(["8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "100.63.255.255", "100.128.0.0", "169.253.255.255", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1"])(
    "lets public %s through",
    (address) => {
      expect(classifyAddress(address)).toBeUndefined();
    },
  );
});
