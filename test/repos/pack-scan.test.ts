import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { extractPack, scanPack, type PackLimits } from "../../src/repos/pack-scan.js";
import { domainRefusalOf } from "../support/refusals.js";

const limits: PackLimits = { maxObjects: 100, maxObjectBytes: 1024 * 1024, maxInflatedBytes: 4 * 1024 * 1024 };

function header(type: number, size: number): Buffer {
  const bytes: number[] = [];
  let c = (type << 4) | (size & 15);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(c | 0x80);
    c = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(c);
  return Buffer.from(bytes);
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}

/** pack builds a packfile from [type, declared size, inflated content, prefix] entries. */
function pack(objects: Array<{ type: number; size?: number; content: Buffer; prefix?: Buffer }>): Buffer {
  const head = Buffer.alloc(12);
  head.write("PACK", 0, "latin1");
  head.writeUInt32BE(2, 4);
  head.writeUInt32BE(objects.length, 8);
  const parts: Buffer[] = [head];
  for (const o of objects) parts.push(header(o.type, o.size ?? o.content.length), o.prefix ?? Buffer.alloc(0), deflateSync(o.content));
  parts.push(Buffer.alloc(20));
  return Buffer.concat(parts);
}

describe("scanPack", () => {
  it("passes a pack git made", () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-pack-"));
    try {
      const env = { ...process.env, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };
      execFileSync("git", ["init", "-q", dir], { env });
      writeFileSync(join(dir, "a.js"), "export default function () { return 1; }\n".repeat(50));
      writeFileSync(join(dir, "b.js"), "export default function () { return 2; }\n".repeat(50));
      execFileSync("git", ["add", "-A"], { cwd: dir, env });
      execFileSync("git", ["commit", "-q", "-m", "one"], { cwd: dir, env });
      writeFileSync(join(dir, "a.js"), "export default function () { return 3; }\n".repeat(51));
      execFileSync("git", ["commit", "-q", "-am", "two"], { cwd: dir, env });
      const objects = execFileSync("git", ["rev-list", "--objects", "--all"], { cwd: dir, env });
      const packed = execFileSync("git", ["pack-objects", "--stdout"], { cwd: dir, env, input: objects });
      const summary = scanPack(packed, limits);
      expect(summary.objects).toBe(objects.toString().trim().split("\n").length);
      expect(summary.inflatedBytes).toBeGreaterThan(4000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a compression bomb by its declared size, without inflating it", () => {
    const bomb = pack([{ type: 3, content: Buffer.alloc(8 * 1024 * 1024) }]);
    expect(bomb.length).toBeLessThan(20_000);
    const err = domainRefusalOf(() => scanPack(bomb, limits));
    expect({ kind: err.kind, field: err.facts.field }).toEqual({ kind: "invalid_argument", field: "url" });
    expect(err.message).toContain("too large");
  });

  it("refuses an object that inflates to more than it declares", () => {
    const err = domainRefusalOf(() => scanPack(pack([{ type: 3, size: 10, content: Buffer.alloc(100_000) }]), limits));
    expect(err.message).toContain("malformed");
  });

  it("refuses a delta whose target is too large", () => {
    const delta = Buffer.concat([varint(10), varint(64 * 1024 * 1024), Buffer.from([0x90, 0x10])]);
    const err = domainRefusalOf(() => scanPack(pack([{ type: 3, content: Buffer.from("0123456789") }, { type: 7, content: delta, prefix: Buffer.alloc(20) }]), limits));
    expect(err.message).toContain("too large");
  });

  it("refuses a pack whose objects add up past the inflated cap", () => {
    const blob = Buffer.alloc(900 * 1024, 1);
    const err = domainRefusalOf(() => scanPack(pack([1, 2, 3, 4, 5].map(() => ({ type: 3, content: blob }))), limits));
    expect(err.message).toContain("once unpacked");
  });

  it("refuses more objects than the limit", () => {
    const err = domainRefusalOf(() => scanPack(pack([{ type: 3, content: Buffer.from("x") }]), { ...limits, maxObjects: 0 }));
    expect(err.message).toContain("objects");
  });

  it("refuses truncated and foreign data", () => {
    const whole = pack([{ type: 3, content: Buffer.from("hello world") }]);
    expect(domainRefusalOf(() => scanPack(whole.subarray(0, 20), limits)).message).toContain("malformed");
    expect(domainRefusalOf(() => scanPack(Buffer.alloc(64), limits)).message).toContain("malformed");
    expect(domainRefusalOf(() => scanPack(pack([{ type: 5, content: Buffer.from("x") }]), limits)).message).toContain("malformed");
  });
});

function pkt(payload: string | Buffer): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload) : payload;
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, "0")), body]);
}

describe("extractPack", () => {
  const data = pack([{ type: 3, content: Buffer.from("hi") }]);

  it("reassembles side-band channel 1 and skips shallow, NAK and progress lines", () => {
    const response = Buffer.concat([
      pkt("shallow 0123456789012345678901234567890123456789\n"),
      Buffer.from("0000"),
      pkt("NAK\n"),
      pkt(Buffer.concat([Buffer.from([2]), Buffer.from("Counting objects\n")])),
      pkt(Buffer.concat([Buffer.from([1]), data.subarray(0, 10)])),
      pkt(Buffer.concat([Buffer.from([1]), data.subarray(10)])),
      Buffer.from("0000"),
    ]);
    expect(extractPack(response)?.equals(data)).toBe(true);
  });

  it("refuses data that are no pkt-lines (as the git client would)", () => {
    expect(domainRefusalOf(() => extractPack(Buffer.concat([pkt("NAK\n"), data]))).message).toContain("malformed");
    expect(domainRefusalOf(() => extractPack(Buffer.concat([pkt("NAK\n"), Buffer.from("0003")]))).message).toContain("malformed");
  });

  it("turns a side-band error into UNAVAILABLE", () => {
    const err = domainRefusalOf(() => extractPack(Buffer.concat([pkt("NAK\n"), pkt(Buffer.concat([Buffer.from([3]), Buffer.from("fatal: out of memory")]))])));
    expect(err.kind).toBe("unavailable");
  });

  it("answers undefined when there is no pack", () => {
    expect(extractPack(Buffer.concat([pkt("NAK\n"), Buffer.from("0000")]))).toBeUndefined();
  });
});
