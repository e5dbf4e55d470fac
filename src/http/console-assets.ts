import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import type * as http from "node:http";
import type * as http2 from "node:http2";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

/** consoleBasePath is where the admin console is served. */
export const consoleBasePath = "/console/";

/**
 * consoleSecurityHeaders go on every console response: a CSP that allows
 * only the console's own files (no inline script or style, no framing, API
 * calls to this origin only), no MIME sniffing, no referrer, no framing by
 * older browsers either, and a browsing-context group of its own.
 */
export const consoleSecurityHeaders: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
});

const contentTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

/** A plain file name: no separators, no leading dot, so no way out of the folder. */
const fileNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * loadAssets reads every servable file of the built folder into memory.
 * Requests are answered from this table only: a request path is looked up
 * as a key, never joined onto a file-system path, so traversal (`..`,
 * encoded slashes, symlinks out of the folder) has nothing to reach.
 */
async function loadAssets(dir: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const type = contentTypes[extname(entry.name)];
    if (!entry.isFile() || !fileNamePattern.test(entry.name) || !type) continue;
    const body = await readFile(join(dir, entry.name));
    assets.set(entry.name, { body, type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` });
  }
  if (!assets.has("index.html")) throw new Error(`no index.html in ${dir}`);
  return assets;
}

/**
 * createConsoleAssets answers requests for `/console` and `/console/*` from
 * the built console in `dir` (see src/console/build.ts), with the security
 * headers above, ETags and `cache-control: no-cache`. It answers false for
 * any other path. A missing build answers 503 naming the build command.
 */
export function createConsoleAssets(dir: string): (req: Req, res: Res, path: string) => boolean {
  let loading: Promise<Map<string, Asset>> | undefined;
  const assets = () => {
    loading ??= loadAssets(dir).catch((err: unknown) => {
      loading = undefined; // not built yet: look again next time
      throw err;
    });
    return loading;
  };
  const headers = (res: Res) => {
    for (const [k, v] of Object.entries(consoleSecurityHeaders)) res.setHeader(k, v);
  };
  const plain = (res: Res, status: number, text: string) => {
    headers(res);
    res.statusCode = status;
    res.setHeader("content-type", "text/plain; charset=utf-8");
    res.setHeader("cache-control", "no-store");
    res.end(text);
  };

  return (req, res, path) => {
    if (path === "/console") {
      headers(res);
      res.statusCode = 308;
      res.setHeader("location", consoleBasePath);
      res.end();
      return true;
    }
    if (!path.startsWith(consoleBasePath)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      plain(res, 405, "method not allowed\n");
      return true;
    }
    const name = path.slice(consoleBasePath.length) || "index.html";
    assets().then(
      (table) => {
        const asset = fileNamePattern.test(name) ? table.get(name) : undefined;
        if (!asset) {
          plain(res, 404, "not found\n");
          return;
        }
        headers(res);
        res.setHeader("etag", asset.etag);
        res.setHeader("cache-control", "no-cache");
        if (req.headers["if-none-match"] === asset.etag) {
          res.statusCode = 304;
          res.end();
          return;
        }
        res.statusCode = 200;
        res.setHeader("content-type", asset.type);
        res.setHeader("content-length", String(asset.body.length));
        if (req.method === "HEAD") res.end();
        else res.end(asset.body);
      },
      () => plain(res, 503, "the console is not built: run `npm run build:console` (npm start does it first)\n"),
    );
    return true;
  };
}
