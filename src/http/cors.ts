import { cors } from "@connectrpc/connect";
import type * as http from "node:http";
import type * as http2 from "node:http2";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

const allowHeaders = [...cors.allowedHeaders, "authorization", "x-csrf-token", "x-room-token", "x-request-id"].join(", ");
const exposeHeaders = [...cors.exposedHeaders, "retry-after", "x-request-id"].join(", ");
const allowMethods = cors.allowedMethods.join(", ");

/**
 * applyCors answers preflights and sets CORS headers for allowed origins only.
 * It returns true when it answered the request itself (a preflight).
 * Credentials are allowed so the console on another origin can use cookies;
 * CSRF is enforced separately for cookie-authenticated mutations.
 */
export function applyCors(allowed: readonly string[], req: Req, res: Res): boolean {
  const origin = req.headers.origin;
  if (typeof origin !== "string" || origin === "") return false;
  const ok = allowed.includes("*") || allowed.includes(origin);
  res.setHeader("vary", "Origin");
  if (!ok) {
    if (req.method === "OPTIONS") {
      res.statusCode = 403;
      res.end();
      return true;
    }
    return false;
  }
  res.setHeader("access-control-allow-origin", origin);
  res.setHeader("access-control-allow-credentials", "true");
  res.setHeader("access-control-expose-headers", exposeHeaders);
  if (req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
    res.setHeader("access-control-allow-methods", allowMethods);
    res.setHeader("access-control-allow-headers", allowHeaders);
    res.setHeader("access-control-max-age", "7200");
    res.statusCode = 204;
    res.end();
    return true;
  }
  return false;
}
