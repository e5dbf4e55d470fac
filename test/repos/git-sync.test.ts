import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FetchLimitError } from "../../src/net/guarded-fetch.js";
import { fetchRepoFiles, type FetchRepoOptions } from "../../src/repos/git-sync.js";
import { startConnectionCounter, startGitServer, type ConnectionCounter, type GitServer, type TestRepo } from "../support/git-server.js";
import { domainRefusal } from "../support/refusals.js";

describe("fetchRepoFiles", () => {
  let server: GitServer;
  let counter: ConnectionCounter;
  let repo: TestRepo;
  let head: string;
  let tempRoot: string;
  const fetchOf = (overrides: Partial<FetchRepoOptions> = {}) =>
    fetchRepoFiles({ url: repo.url, ref: "", path: "", policy: { allowedHosts: [server.hostPort] }, tempRoot, ...overrides });

  beforeAll(async () => {
    server = await startGitServer();
    counter = await startConnectionCounter();
    tempRoot = mkdtempSync(join(tmpdir(), "gatehouse-sync-test-"));
    repo = await server.createRepo("macros");
    await repo.commit({ "macros/old.js": "export default function () { return 0; }\n" });
    head = await repo.commit({
      "macros/sum.js": "export default function (input) { return input.a + input.b; }\n",
      "macros/reports/daily.js": "export default async function () { return 'daily'; }\n",
      "macros/readme.md": "# not a macro",
      "macros/.hidden.js": "nope",
      "macros/.secret/inner.js": "nope",
      "macros/old.js": null,
      "top.js": "export default function () {}\n",
    });
    await repo.tag("v1");
    await repo.tag("v1-annotated", "release one");
    await repo.commit({ "macros/feature.js": "export default function () { return 'feature'; }\n" }, { branch: "feature" });
  });
  afterAll(async () => {
    await server.close();
    await counter.close();
    rmSync(tempRoot, { recursive: true, force: true });
  });

  it("fetches the remote HEAD shallowly and collects the .js files under the path, skipping hidden ones", async () => {
    const fetched = await fetchOf({ path: "macros" });
    expect(fetched.commit).toBe(head);
    expect(fetched.files.map((f) => f.path)).toEqual(["macros/reports/daily.js", "macros/sum.js"]);
    expect(fetched.files[1]!.content.toString()).toContain("input.a + input.b");
    expect(readdirSync(tempRoot)).toEqual([]);
  });

  it("collects from the root when path is empty", async () => {
    const fetched = await fetchOf();
    expect(fetched.files.map((f) => f.path)).toEqual(["macros/reports/daily.js", "macros/sum.js", "top.js"]);
  });

  it("fetches a branch, a tag and an annotated tag", async () => {
    const feature = await fetchOf({ ref: "feature", path: "macros" });
    expect(feature.files.map((f) => f.path)).toContain("macros/feature.js");
    expect((await fetchOf({ ref: "v1" })).commit).toBe(head);
    expect((await fetchOf({ ref: "v1-annotated" })).commit).toBe(head);
  });

  it("refuses a ref or a path that is not there (INVALID_ARGUMENT naming it), and leaves no folder behind", async () => {
    expect((await domainRefusal(fetchOf({ ref: "no-such-branch" }))).facts.field).toBe("ref");
    expect((await domainRefusal(fetchOf({ path: "nowhere" }))).facts.field).toBe("path");
    expect((await domainRefusal(fetchOf({ path: "top.js" }))).facts.field).toBe("path");
    expect(readdirSync(tempRoot)).toEqual([]);
  });

  it("refuses an empty repository and a URL that is no repository", async () => {
    const empty = await server.createRepo("empty");
    expect((await domainRefusal(fetchOf({ url: empty.url }))).kind).toBe("invalid_argument");
    const missing = await domainRefusal(fetchOf({ url: `${server.base}/missing.git` }));
    expect({ kind: missing.kind, field: missing.facts.field }).toEqual({ kind: "invalid_argument", field: "url" });
  });

  it("caps the number of files", async () => {
    const err = await domainRefusal(fetchOf({ limits: { maxFiles: 2 } }));
    expect({ kind: err.kind, field: err.facts.field }).toEqual({ kind: "invalid_argument", field: "path" });
  });

  it("caps each file's size, naming the file", async () => {
    const err = await domainRefusal(fetchOf({ path: "macros", limits: { maxFileBytes: 60 } }));
    expect(err.kind).toBe("invalid_argument");
    expect(err.facts.attemptedValue).toBe("macros/sum.js");
    expect(err.facts.violations?.[0]).toMatchObject({ file: "macros/sum.js", rule: "too-large" });
  });

  it("caps the pack, and any object in it", async () => {
    const big = await server.createRepo("big");
    await big.commit({ "a.js": "export default function () {}\n", "blob.bin": randomBytes(300 * 1024) });
    const pack = await domainRefusal(fetchOf({ url: big.url, limits: { maxPackBytes: 200 * 1024 } }));
    expect(pack).toBeInstanceOf(FetchLimitError);
    expect((pack as FetchLimitError).limit).toBe("bytes");
    const object = await domainRefusal(fetchOf({ url: big.url, limits: { maxObjectBytes: 100 * 1024 } }));
    expect(object.message).toContain("too large");
    expect(readdirSync(tempRoot)).toEqual([]);
  });

  it("refuses a redirect to a refused address before connecting to it", async () => {
    server.redirects.set("/macros.git/info/refs", `http://127.0.0.1:${counter.port}/macros.git/info/refs?service=git-upload-pack`);
    try {
      const err = await domainRefusal(fetchOf({ policy: { allowedHosts: [server.hostPort, "*:*"] } }));
      expect({ kind: err.kind, reason: err.reason }).toEqual({ kind: "permission_denied", reason: "NETWORK_NOT_ALLOWED" });
      expect(counter.connections).toBe(0);
    } finally {
      server.redirects.clear();
    }
  });

  it("refuses a URL the guard refuses before any request", async () => {
    const before = server.requests;
    const err = await domainRefusal(fetchOf({ url: `http://127.0.0.1:${server.port}/macros.git`, policy: { allowedHosts: ["*:*"] } }));
    expect(err.reason).toBe("NETWORK_NOT_ALLOWED");
    expect(server.requests).toBe(before);
  });

  it("gives up after the time limit", async () => {
    server.delayMs = 500;
    try {
      const err = await domainRefusal(fetchOf({ limits: { timeoutMs: 200 } }));
      expect(err.kind).toBe("unavailable");
    } finally {
      server.delayMs = 0;
    }
  });
});
