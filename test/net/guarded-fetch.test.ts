import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FetchLimitError, guardedFetch, type GuardedFetchOptions } from "../../src/net/guarded-fetch.js";
import type { ResolvedAddress } from "../../src/net/url-guard.js";
import { startConnectionCounter, type ConnectionCounter } from "../support/git-server.js";
import { domainRefusal } from "../support/refusals.js";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  servername?: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

function recording(routes: Record<string, Handler>, seen: Seen[]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body, servername: ((req.socket as TLSSocket & { servername?: string }).servername) || undefined });
      const route = routes[new URL(req.url ?? "/", "http://x").pathname];
      if (route) route(req, res, body);
      else res.writeHead(404).end("no");
    });
  };
}

describe("guardedFetch", () => {
  const seen: Seen[] = [];
  let server: http.Server;
  let port: number;
  let hostPort: string;
  let counter: ConnectionCounter;
  const routes: Record<string, Handler> = {
    "/hello": (_req, res) => res.writeHead(200, { "content-type": "text/plain", "x-two": ["a", "b"] }).end("hello"),
    "/echo": (req, res, body) => res.writeHead(200).end(JSON.stringify({ method: req.method, body })),
    "/big": (_req, res) => res.writeHead(200, { "content-length": "5000" }).end("x".repeat(5000)),
    "/big-chunked": (_req, res) => {
      res.writeHead(200);
      for (let i = 0; i < 50; i++) res.write("y".repeat(100));
      res.end();
    },
    "/slow": () => undefined,
    "/redirect-loop": (_req, res) => res.writeHead(302, { location: "/redirect-loop" }).end(),
    "/redirect-hello": (_req, res) => res.writeHead(301, { location: "/hello" }).end(),
    "/redirect-303": (_req, res) => res.writeHead(303, { location: "/echo" }).end(),
    "/redirect-307": (_req, res) => res.writeHead(307, { location: "/echo" }).end(),
    "/redirect-file": (_req, res) => res.writeHead(302, { location: "file:///etc/passwd" }).end(),
  };
  const options = (extra: Partial<GuardedFetchOptions> = {}): GuardedFetchOptions => ({
    allowedHosts: [hostPort],
    maxBytes: 1024,
    timeoutMs: 2000,
    maxRedirects: 3,
    ...extra,
  });

  beforeAll(async () => {
    server = http.createServer(recording(routes, seen));
    port = await listen(server);
    hostPort = `127.0.0.1:${port}`;
    counter = await startConnectionCounter();
    routes["/redirect-loopback"] = (_req, res) => res.writeHead(302, { location: `http://127.0.0.1:${counter.port}/x` }).end();
    routes["/redirect-localhost"] = (_req, res) => res.writeHead(302, { location: `https://localhost:${counter.port}/x` }).end();
    routes["/redirect-decimal"] = (_req, res) => res.writeHead(307, { location: `https://2130706433:${counter.port}/x` }).end();
    routes["/redirect-cross"] = (_req, res) => res.writeHead(302, { location: `http://localhost:${port}/echo` }).end();
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await counter.close();
  });

  it("fetches from an explicitly allowed host:port, with the Host header of the URL", async () => {
    const res = await guardedFetch(`http://${hostPort}/hello`, {}, options());
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("hello");
    expect(res.headers["x-two"]).toBe("a, b");
    expect(seen.at(-1)?.headers.host).toBe(hostPort);
  });

  it("connects to the checked address only: a name the system can't resolve reaches the address the guard resolved, once", async () => {
    const calls: string[] = [];
    const resolve = async (name: string): Promise<ResolvedAddress[]> => {
      calls.push(name);
      return [{ address: "127.0.0.1", family: 4 }];
    };
    const res = await guardedFetch(`http://pinned.invalid:${port}/hello`, {}, options({ allowedHosts: [`pinned.invalid:${port}`], resolve }));
    expect(res.body.toString()).toBe("hello");
    expect(calls).toEqual(["pinned.invalid"]);
    expect(seen.at(-1)?.headers.host).toBe(`pinned.invalid:${port}`);
  });

  it("sends a POST body and drops hop-by-hop headers", async () => {
    const res = await guardedFetch(`http://${hostPort}/echo`, { method: "POST", body: "ping", headers: { Connection: "upgrade", "X-Ok": "1", Host: "evil" } }, options());
    expect(JSON.parse(res.body.toString())).toEqual({ method: "POST", body: "ping" });
    expect(seen.at(-1)?.headers["x-ok"]).toBe("1");
    expect(seen.at(-1)?.headers.host).toBe(hostPort);
  });

  it("caps the response size (declared or streamed)", async () => {
    const declared = await domainRefusal(guardedFetch(`http://${hostPort}/big`, {}, options()));
    expect(declared).toBeInstanceOf(FetchLimitError);
    expect((declared as FetchLimitError).limit).toBe("bytes");
    expect(declared.kind).toBe("invalid_argument");
    const streamed = await domainRefusal(guardedFetch(`http://${hostPort}/big-chunked`, {}, options()));
    expect((streamed as FetchLimitError).limit).toBe("bytes");
  });

  it("caps the time", async () => {
    const started = Date.now();
    const err = await domainRefusal(guardedFetch(`http://${hostPort}/slow`, {}, options({ timeoutMs: 200 })));
    expect((err as FetchLimitError).limit).toBe("time");
    expect(err.kind).toBe("unavailable");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("follows redirects within the limit, and refuses past it", async () => {
    const res = await guardedFetch(`http://${hostPort}/redirect-hello`, {}, options());
    expect(res.body.toString()).toBe("hello");
    expect(res.redirects).toBe(1);
    expect(res.url).toBe(`http://${hostPort}/hello`);
    const err = await domainRefusal(guardedFetch(`http://${hostPort}/redirect-loop`, {}, options()));
    expect((err as FetchLimitError).limit).toBe("redirects");
  });

  it("returns a redirect as is when maxRedirects is 0", async () => {
    const res = await guardedFetch(`http://${hostPort}/redirect-hello`, {}, options({ maxRedirects: 0 }));
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe("/hello");
  });

  it("continues a 303 as a GET without body, and a 307 as the same POST", async () => {
    const after303 = await guardedFetch(`http://${hostPort}/redirect-303`, { method: "POST", body: "data" }, options());
    expect(JSON.parse(after303.body.toString())).toEqual({ method: "GET", body: "" });
    const after307 = await guardedFetch(`http://${hostPort}/redirect-307`, { method: "POST", body: "data" }, options());
    expect(JSON.parse(after307.body.toString())).toEqual({ method: "POST", body: "data" });
  });

  it("drops Authorization and Cookie when a redirect leaves the origin", async () => {
    const resolve = async (): Promise<ResolvedAddress[]> => [{ address: "127.0.0.1", family: 4 }];
    await guardedFetch(
      `http://${hostPort}/redirect-cross`,
      { headers: { authorization: "Bearer x", cookie: "a=b", "x-keep": "1" } },
      options({ allowedHosts: [hostPort, `localhost:${port}`], resolve }),
    );
    const last = seen.at(-1)!;
    expect(last.headers.host).toBe(`localhost:${port}`);
    expect(last.headers.authorization).toBeUndefined();
    expect(last.headers.cookie).toBeUndefined();
    expect(last.headers["x-keep"]).toBe("1");
  });

  it.each(["/redirect-loopback", "/redirect-localhost", "/redirect-decimal"])("checks the redirect of %s again and refuses it before connecting", async (path) => {
    const before = counter.connections;
    const resolve = async (): Promise<ResolvedAddress[]> => [{ address: "127.0.0.1", family: 4 }];
    const err = await domainRefusal(guardedFetch(`http://${hostPort}${path}`, {}, options({ allowedHosts: [hostPort, "*:*"], resolve })));
    expect({ kind: err.kind, reason: err.reason }).toEqual({ kind: "permission_denied", reason: "NETWORK_NOT_ALLOWED" });
    expect(counter.connections).toBe(before);
  });

  it("refuses a redirect to file:// with INVALID_ARGUMENT", async () => {
    const err = await domainRefusal(guardedFetch(`http://${hostPort}/redirect-file`, {}, options()));
    expect({ kind: err.kind, field: err.facts.field }).toEqual({ kind: "invalid_argument", field: "url" });
  });

  it.each([
    (p: number) => `https://127.0.0.1:${p}/`,
    (p: number) => `https://2130706433:${p}/`,
    (p: number) => `https://0x7f000001:${p}/`,
    (p: number) => `https://0177.0.0.1:${p}/`,
    (p: number) => `https://127.1:${p}/`,
    (p: number) => `https://[::1]:${p}/`,
    (p: number) => `https://[::ffff:127.0.0.1]:${p}/`,
    (p: number) => `https://localhost:${p}/`,
    (p: number) => `http://127.0.0.1:${p}/`,
    (p: number) => `https://user:pw@127.0.0.1:${p}/`,
    () => "file:///etc/passwd",
  ])("refuses %s before any connection", async (urlOf) => {
    const before = counter.connections;
    const err = await domainRefusal(guardedFetch(urlOf(counter.port), {}, options({ allowedHosts: ["*", "*:*"] })));
    expect(["permission_denied", "invalid_argument"]).toContain(err.kind);
    expect(counter.connections).toBe(before);
  });

  it("answers UNAVAILABLE when the server can't be reached", async () => {
    const closed = http.createServer();
    const closedPort = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await domainRefusal(guardedFetch(`http://127.0.0.1:${closedPort}/`, {}, options({ allowedHosts: [`127.0.0.1:${closedPort}`] })));
    expect(err.kind).toBe("unavailable");
  });
});

const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasOpenssl)("guardedFetch over https", () => {
  const seen: Seen[] = [];
  let server: https.Server;
  let port: number;
  let cert: Buffer;
  let dir: string;
  const resolve = async (): Promise<ResolvedAddress[]> => [{ address: "127.0.0.1", family: 4 }];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "gatehouse-tls-"));
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=git.pinned.test", "-addext", "subjectAltName=DNS:git.pinned.test"],
      { stdio: "ignore" },
    );
    cert = readFileSync(join(dir, "cert.pem"));
    server = https.createServer({ key: readFileSync(join(dir, "key.pem")), cert }, recording({ "/hello": (_req, res) => res.writeHead(200).end("secure hello") }, seen));
    port = await listen(server);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("connects to the pinned address with the URL's host as SNI and Host, verifying the certificate against it", async () => {
    const res = await guardedFetch(`https://git.pinned.test:${port}/hello`, {}, { allowedHosts: [`git.pinned.test:${port}`], maxBytes: 1024, timeoutMs: 2000, maxRedirects: 0, resolve, ca: cert });
    expect(res.body.toString()).toBe("secure hello");
    expect(seen.at(-1)?.servername).toBe("git.pinned.test");
    expect(seen.at(-1)?.headers.host).toBe(`git.pinned.test:${port}`);
  });

  it("refuses a certificate for another name, and an untrusted one", async () => {
    const other = await domainRefusal(
      guardedFetch(`https://other.pinned.test:${port}/hello`, {}, { allowedHosts: [`other.pinned.test:${port}`], maxBytes: 1024, timeoutMs: 2000, maxRedirects: 0, resolve, ca: cert }),
    );
    expect(other.kind).toBe("unavailable");
    const untrusted = await domainRefusal(
      guardedFetch(`https://git.pinned.test:${port}/hello`, {}, { allowedHosts: [`git.pinned.test:${port}`], maxBytes: 1024, timeoutMs: 2000, maxRedirects: 0, resolve }),
    );
    expect(untrusted.kind).toBe("unavailable");
  });
});
