import { randomUUID } from "node:crypto";
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Deps } from "./deps.js";
import { kRequestInfo } from "./context.js";
import { applyCors } from "./http/cors.js";
import { createListener, type Listener } from "./http/listener.js";
import { createExtraRoutes } from "./http/extra-routes.js";
import { discardAbandonedBody, resetUnreadStream } from "./http/unread-body.js";
import { answerMalformedRequestsAsInvalid } from "./http/malformed-requests.js";
import { createInterceptors } from "./interceptors/index.js";
import { registerRoutes } from "./routes.js";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

/** Server is a Gatehouse server bound to its dependencies, ready to listen. */
export interface Server {
  listener: Listener;
  /** handler is the Node request handler (for tests that bring their own server). */
  handler: (req: Req, res: Res) => void;
  /**
   * open lets requests through. Until then they wait: the port is bound
   * before the first-start bootstrap (so a busy port stops the start before
   * any admin exists), and no call is answered before it is done.
   */
  open(): void;
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,64}$/;

function clientIp(req: Req, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = req.headers["x-forwarded-for"];
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
    if (first) return first;
  }
  const direct = req.socket?.remoteAddress;
  if (direct) return direct;
  // h2c connections reach http2 through a replaying stream (see listener.ts):
  // the address lives on the original socket behind it.
  const session = (req as { stream?: { session?: { socket?: { stream?: { remoteAddress?: string } } } } }).stream?.session;
  return session?.socket?.stream?.remoteAddress ?? "";
}

/**
 * createServer wires the Connect router (every service, the interceptor
 * chain, transport limits) and the plain HTTP routes onto one handler and
 * one listener.
 */
export function createServer(deps: Deps): Server {
  const { config } = deps;
  const extra = createExtraRoutes(deps);
  const connectHandler = connectNodeAdapter({
    routes: (router) => {
      registerRoutes(router, deps);
      // Undecodable request messages are the client's fault: INVALID_ARGUMENT, not INTERNAL.
      answerMalformedRequestsAsInvalid(router.handlers);
    },
    interceptors: createInterceptors(deps),
    // Transport limits, set explicitly: the library defaults are unsafe.
    readMaxBytes: config.readMaxBytes,
    maxTimeoutMs: config.maxTimeoutMs,
    requireConnectProtocolHeader: true,
    shutdownSignal: deps.shutdownSignal,
    contextValues: (req) => {
      const header = req.headers["x-request-id"];
      const given = Array.isArray(header) ? header[0] : header;
      const ua = req.headers["user-agent"];
      return createContextValues().set(kRequestInfo, {
        requestId: given && requestIdPattern.test(given) ? given : randomUUID(),
        ip: clientIp(req, config.trustProxy),
        userAgent: typeof ua === "string" ? ua : "",
        startedAt: process.hrtime.bigint(),
      });
    },
    fallback: (req, res) => extra(req, res as Res),
  });
  const unreadBodyLimits = { maxBytes: 4 * config.readMaxBytes, maxMs: 10_000 };
  let waiting: Array<() => void> | undefined = [];
  const handler = (req: Req, res: Res) => {
    if (waiting) {
      waiting.push(() => handler(req, res));
      return;
    }
    res.setHeader("x-content-type-options", "nosniff");
    if (req.httpVersionMajor === 1) discardAbandonedBody(req as http.IncomingMessage, unreadBodyLimits);
    else resetUnreadStream(req as http2.Http2ServerRequest);
    if (applyCors(config.corsOrigins, req, res)) return;
    connectHandler(req as never, res as never);
  };
  const listener = createListener(
    handler,
    config.tlsCertFile && config.tlsKeyFile ? { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile } : undefined,
  );
  const open = () => {
    const queued = waiting ?? [];
    waiting = undefined;
    for (const run of queued) run();
  };
  return { listener, handler, open };
}
