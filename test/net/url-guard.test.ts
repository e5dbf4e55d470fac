import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/domain/errors.js";
import { checkUrl, checkUrlStatic, explicitEntries, type ResolvedAddress, type UrlPolicy } from "../../src/net/url-guard.js";

/** caught answers the DomainError a call threw (sync or async). */
async function caught(fn: () => unknown): Promise<DomainError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return err as DomainError;
  }
  throw new Error("expected a refusal");
}

function resolver(table: Record<string, string[]>) {
  const calls: string[] = [];
  const resolve = async (hostname: string): Promise<ResolvedAddress[]> => {
    calls.push(hostname);
    const answers = table[hostname];
    if (!answers) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
    return answers.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return { resolve, calls };
}

const anyHost: UrlPolicy = { allowedHosts: ["*", "*:*"] };

describe("checkUrlStatic", () => {
  it.each(["file:///etc/passwd", "git://example.com/a.git", "ssh://git@example.com/a.git", "ftp://example.com/a", "data:text/plain,hi", "javascript:alert(1)", "gopher://example.com/"])(
    "refuses the scheme of %s with INVALID_ARGUMENT naming url",
    async (url) => {
      const err = await caught(() => checkUrlStatic(url, anyHost));
      expect({ kind: err.kind, reason: err.reason, field: err.facts.field }).toEqual({ kind: "invalid_argument", reason: "INVALID_ARGUMENT", field: "url" });
    },
  );

  it.each(["git@example.com:a/b.git", "example.com/a.git", "https://", "not a url"])("refuses %j as no valid URL", async (url) => {
    const err = await caught(() => checkUrlStatic(url, anyHost));
    expect(err.kind).toBe("invalid_argument");
    expect(err.facts.field).toBe("url");
  });

  it.each(["https://user:secret@example.com/a.git", "https://user@example.com/a.git", "https://:secret@example.com/a.git", "http://user:secret@127.0.0.1:8080/a.git"])(
    "refuses credentials in %s without echoing them",
    async (url) => {
      const err = await caught(() => checkUrlStatic(url, { allowedHosts: ["example.com", "127.0.0.1:8080"] }));
      expect(err.kind).toBe("invalid_argument");
      expect(err.facts.field).toBe("url");
      expect(err.facts.attemptedValue ?? "").not.toContain("secret");
      expect(err.message).not.toContain("secret");
    },
  );

  it("refuses a URL over 2048 characters", async () => {
    const err = await caught(() => checkUrlStatic(`https://example.com/${"a".repeat(2100)}`, anyHost));
    expect(err.kind).toBe("invalid_argument");
  });

  it("accepts https to an allowed host, by exact name or glob, case- and trailing-dot-insensitively", () => {
    const policy = { allowedHosts: ["git.example.com", "*.example.org"] };
    expect(checkUrlStatic("https://git.example.com/a.git", policy).hostPort).toBe("git.example.com:443");
    expect(checkUrlStatic("https://GIT.Example.COM./a.git", policy).hostname).toBe("git.example.com");
    expect(checkUrlStatic("https://a.example.org/a.git", policy).explicit).toBe(false);
  });

  it.each([
    ["https://evil.example.net/a.git", "evil.example.net"],
    ["https://example.org/a.git", "example.org"],
    ["https://a.b.example.org/a.git", "a.b.example.org"],
    ["https://git.example.com:8443/a.git", "git.example.com"],
    ["https://git.example.com.evil.net/a.git", "git.example.com.evil.net"],
  ])("refuses %s: host not allowed (NETWORK_NOT_ALLOWED naming the host)", async (url, host) => {
    const err = await caught(() => checkUrlStatic(url, { allowedHosts: ["git.example.com", "*.example.org"] }));
    expect({ kind: err.kind, reason: err.reason }).toEqual({ kind: "permission_denied", reason: "NETWORK_NOT_ALLOWED" });
    expect(err.facts.attemptedValue).toBe(host);
  });

  it("refuses everything when allowed_hosts is empty", async () => {
    const err = await caught(() => checkUrlStatic("https://example.com/", { allowedHosts: [] }));
    expect(err.reason).toBe("NETWORK_NOT_ALLOWED");
  });

  it("allows http:// only for a host:port listed explicitly", async () => {
    const policy = { allowedHosts: ["git.example.com", "*.example.org:*", "build.example.com:8080", "plain.example.com:80"] };
    expect(checkUrlStatic("http://build.example.com:8080/a.git", policy).explicit).toBe(true);
    expect(checkUrlStatic("http://plain.example.com/a.git", policy).explicit).toBe(true);
    for (const url of ["http://git.example.com/a.git", "http://a.example.org:8080/a.git", "http://build.example.com:8081/a.git", "http://build.example.com/a.git"]) {
      const err = await caught(() => checkUrlStatic(url, policy));
      expect(err.reason).toBe("NETWORK_NOT_ALLOWED");
    }
  });

  it("takes explicit entries from explicitHostPorts (the global layer), and only while the effective list allows them", async () => {
    // The room narrowed allowed_hosts: the global explicit entry no longer counts.
    const narrowed = { allowedHosts: ["git.example.com"], explicitHostPorts: ["127.0.0.1:8080"] };
    expect((await caught(() => checkUrlStatic("http://127.0.0.1:8080/a.git", narrowed))).reason).toBe("NETWORK_NOT_ALLOWED");
    // An exact entry of the effective list that the global layer doesn't list is no explicit entry.
    const notGlobal = { allowedHosts: ["127.0.0.1:8080", "*:*"], explicitHostPorts: [] };
    expect((await caught(() => checkUrlStatic("http://127.0.0.1:8080/a.git", notGlobal))).reason).toBe("NETWORK_NOT_ALLOWED");
    expect((await caught(() => checkUrlStatic("https://127.0.0.1:8080/a.git", notGlobal))).reason).toBe("NETWORK_NOT_ALLOWED");
    const both = { allowedHosts: ["127.0.0.1:8080"], explicitHostPorts: ["127.0.0.1:8080"] };
    expect(checkUrlStatic("http://127.0.0.1:8080/a.git", both).explicit).toBe(true);
  });

  it.each([
    ["https://127.0.0.1/", "127.0.0.1"],
    ["https://2130706433/", "127.0.0.1"],
    ["https://0x7f000001/", "127.0.0.1"],
    ["https://0x7F.0.0.1/", "127.0.0.1"],
    ["https://0177.0.0.1/", "127.0.0.1"],
    ["https://0177.0.0.01/", "127.0.0.1"],
    ["https://127.1/", "127.0.0.1"],
    ["https://127.0.1:8443/", "127.0.0.1"],
    ["https://%31%32%37.0.0.1/", "127.0.0.1"],
    ["https://10.0.0.1/", "10.0.0.1"],
    ["https://172.16.5.4/", "172.16.5.4"],
    ["https://192.168.1.1/", "192.168.1.1"],
    ["https://3232235777/", "192.168.1.1"],
    ["https://169.254.169.254/latest/meta-data/", "169.254.169.254"],
    ["https://0xa9fea9fe/", "169.254.169.254"],
    ["https://169.254.1.1/", "169.254.1.1"],
    ["https://100.64.0.1/", "100.64.0.1"],
    ["https://0.0.0.0/", "0.0.0.0"],
    ["https://0/", "0.0.0.0"],
    ["https://224.0.0.1/", "224.0.0.1"],
    ["https://[::1]/", "::1"],
    ["https://[::]/", "::"],
    ["https://[0:0:0:0:0:0:0:1]/", "::1"],
    ["https://[::ffff:127.0.0.1]/", "::ffff:7f00:1"],
    ["https://[::ffff:169.254.169.254]/", "::ffff:a9fe:a9fe"],
    ["https://[fd00:ec2::254]/", "fd00:ec2::254"],
    ["https://[fe80::1]/", "fe80::1"],
    ["https://[fc00::1]/", "fc00::1"],
    ["https://[ff02::1]/", "ff02::1"],
  ])("refuses %s as the address %s, before resolving anything", async (url, address) => {
    const err = await caught(() => checkUrlStatic(url, anyHost));
    expect({ kind: err.kind, reason: err.reason, attempted: err.facts.attemptedValue }).toEqual({
      kind: "permission_denied",
      reason: "NETWORK_NOT_ALLOWED",
      attempted: address,
    });
  });

  it("exempts an explicitly listed host:port from the address rules, in any spelling of it", () => {
    const policy = { allowedHosts: ["127.0.0.1:8080"] };
    expect(checkUrlStatic("http://127.0.0.1:8080/a.git", policy).explicit).toBe(true);
    expect(checkUrlStatic("http://2130706433:8080/a.git", policy).hostname).toBe("127.0.0.1");
    expect(checkUrlStatic("http://0x7f000001:8080/a.git", policy).explicit).toBe(true);
  });

  it("does not exempt another port of an explicitly listed address", async () => {
    const err = await caught(() => checkUrlStatic("https://127.0.0.1:8081/a.git", { allowedHosts: ["127.0.0.1:8080", "*:*"] }));
    expect(err.facts.attemptedValue).toBe("127.0.0.1");
  });

  it("lists exact host:port entries only as explicit", () => {
    expect(explicitEntries(["a.example.com:8080", "*.example.com:8080", "b.example.com", "c.example.com:*", "127.0.0.1:9418", "bad glob"])).toEqual([
      "a.example.com:8080",
      "127.0.0.1:9418",
    ]);
  });
});

describe("checkUrl", () => {
  it("answers the resolved address to pin the connection to", async () => {
    const { resolve, calls } = resolver({ "git.example.com": ["93.184.216.34", "2606:2800:220:1::1"] });
    const pinned = await checkUrl("https://git.example.com/a.git", { allowedHosts: ["git.example.com"] }, { resolve });
    expect(pinned.address).toEqual({ address: "93.184.216.34", family: 4 });
    expect(pinned.addresses).toHaveLength(2);
    expect(calls).toEqual(["git.example.com"]);
  });

  it.each([
    ["127.0.0.1", "loopback"],
    ["127.0.0.53", "loopback"],
    ["10.0.0.8", "private"],
    ["172.20.0.2", "private"],
    ["192.168.0.10", "private"],
    ["169.254.169.254", "metadata"],
    ["169.254.10.10", "link-local"],
    ["100.100.0.1", "carrier-grade"],
    ["0.0.0.0", "unspecified"],
    ["239.1.1.1", "multicast"],
    ["::1", "loopback"],
    ["::", "unspecified"],
    ["::ffff:127.0.0.1", "IPv4-mapped"],
    ["::ffff:10.0.0.1", "IPv4-mapped"],
    ["fe80::1", "link-local"],
    ["fd00:ec2::254", "metadata"],
    ["fd12::1", "unique-local"],
    ["ff05::1", "multicast"],
  ])("refuses a name that resolves to %s", async (address, words) => {
    const { resolve } = resolver({ "rebind.example.com": [address] });
    const err = await caught(() => checkUrl("https://rebind.example.com/a.git", anyHost, { resolve }));
    expect({ kind: err.kind, reason: err.reason }).toEqual({ kind: "permission_denied", reason: "NETWORK_NOT_ALLOWED" });
    expect(err.facts.attemptedValue).toBe(`rebind.example.com → ${address}`);
    expect(err.message).toContain(words);
  });

  it("refuses a name when any one of its addresses is refused", async () => {
    const { resolve } = resolver({ "mixed.example.com": ["93.184.216.34", "10.0.0.1"] });
    const err = await caught(() => checkUrl("https://mixed.example.com/", anyHost, { resolve }));
    expect(err.facts.attemptedValue).toBe("mixed.example.com → 10.0.0.1");
  });

  it("resolves nothing for a refused URL", async () => {
    const { resolve, calls } = resolver({});
    await caught(() => checkUrl("file:///etc/passwd", anyHost, { resolve }));
    await caught(() => checkUrl("https://not-allowed.example.com/", { allowedHosts: ["other.example.com"] }, { resolve }));
    await caught(() => checkUrl("https://2130706433/", anyHost, { resolve }));
    expect(calls).toEqual([]);
  });

  it("lets an explicitly listed name reach a loopback address", async () => {
    const { resolve } = resolver({ localhost: ["127.0.0.1", "::1"] });
    const pinned = await checkUrl("http://localhost:9000/a.git", { allowedHosts: ["localhost:9000"] }, { resolve });
    expect(pinned.explicit).toBe(true);
    expect(pinned.address.address).toBe("127.0.0.1");
    const err = await caught(() => checkUrl("https://localhost:9001/a.git", { allowedHosts: ["localhost:*"] }, { resolve }));
    expect(err.reason).toBe("NETWORK_NOT_ALLOWED");
  });

  it("answers UNAVAILABLE when the name does not resolve, or not in time", async () => {
    const { resolve } = resolver({});
    expect((await caught(() => checkUrl("https://nowhere.example.com/", anyHost, { resolve }))).kind).toBe("unavailable");
    const slow = () => new Promise<ResolvedAddress[]>(() => undefined);
    expect((await caught(() => checkUrl("https://slow.example.com/", anyHost, { resolve: slow, timeoutMs: 20 }))).kind).toBe("unavailable");
  });
});
