import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { Deps } from "../deps.js";
import { createConsoleAssets } from "./console-assets.js";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

/**
 * createExtraRoutes serves the plain HTTP routes beside the RPCs:
 * `GET /` (a redirect to the console), `GET /metrics` (Prometheus),
 * `GET /.well-known/jwks.json`, `GET /healthz`,
 * the admin console under `/console/` (see console-assets.ts), and 404 for
 * anything else.
 */
export function createExtraRoutes(deps: Deps): (req: Req, res: Res) => void {
  const send = (res: Res, status: number, type: string, body: string) => {
    res.statusCode = status;
    res.setHeader("content-type", type);
    res.setHeader("cache-control", "no-store");
    res.end(body);
  };
  const consoleAssets = createConsoleAssets(deps.config.consoleDir);
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const isRead = req.method === "GET" || req.method === "HEAD";
    if (isRead && path === "/") {
      res.statusCode = 302;
      res.setHeader("location", "/console/");
      res.setHeader("cache-control", "no-store");
      res.end();
      return;
    }
    if (isRead && path === "/metrics") {
      deps.metrics.registry.metrics().then(
        (text) => send(res, 200, deps.metrics.registry.contentType, text),
        () => send(res, 500, "text/plain", "metrics unavailable\n"),
      );
      return;
    }
    if (isRead && path === "/.well-known/jwks.json") {
      deps.jwks().then(
        (jwks) => send(res, 200, "application/jwk-set+json", JSON.stringify(jwks)),
        () => send(res, 503, "text/plain", "unavailable\n"),
      );
      return;
    }
    if (isRead && path === "/healthz") {
      const ok = deps.health.serving;
      send(res, ok ? 200 : 503, "application/json", JSON.stringify({ serving: ok, dependencies: deps.health.dependencies() }));
      return;
    }
    if (consoleAssets(req, res, path)) return;
    send(res, 404, "text/plain", "not found\n");
  };
}
