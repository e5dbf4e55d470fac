import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { kPrincipal, kRequestInfo } from "../context.js";
import { ErrorDetailSchema } from "../../gen/gatehouse/v1/common_pb.js";

/** AccessLog says which calls get an access line: every call, only failed calls, or none. */
export type AccessLog = "all" | "errors" | "off";

/**
 * createRequestLogInterceptor is the outermost interceptor: it echoes the
 * request id, logs one structured access line per call (as `accessLog`
 * says; an INTERNAL failure is always logged, at error) and records metrics.
 * It never logs messages or headers (they may hold secrets).
 */
export function createRequestLogInterceptor(logger: Logger, metrics: Metrics, accessLog: AccessLog = "all"): Interceptor {
  return (next) => async (req) => {
    const info = req.contextValues.get(kRequestInfo);
    const method = `${req.service.typeName}/${req.method.name}`;
    const finish = (code: Code | "ok", err?: ConnectError) => {
      const seconds = Number(process.hrtime.bigint() - info.startedAt) / 1e9;
      const codeName = code === "ok" ? "ok" : codeName_(code);
      metrics.calls.inc({ method, code: codeName });
      metrics.latency.observe({ method, code: codeName }, seconds);
      if (err && method === "gatehouse.v1.AuthService/Login") {
        const reason = err.findDetails(ErrorDetailSchema)[0]?.reason || codeName;
        metrics.loginFailures.inc({ reason });
        if (reason === "LOGIN_LOCKED") metrics.loginLockouts.inc();
      }
      const internal = err !== undefined && err.code === Code.Internal;
      if (!internal && (accessLog === "off" || (accessLog === "errors" && !err))) return;
      const principal = req.contextValues.get(kPrincipal);
      const line = {
        requestId: info.requestId,
        method,
        code: codeName,
        ms: Math.round(seconds * 1e6) / 1e3,
        ip: info.ip,
        tenantId: principal?.tenantId,
        userId: principal?.userId,
      };
      if (internal) {
        logger.error({ ...line, err: err.cause ?? err }, "rpc failed");
      } else {
        logger.info(line, "rpc");
      }
    };
    try {
      const res = await next(req);
      res.header.set("x-request-id", info.requestId);
      finish("ok");
      return res;
    } catch (e) {
      const err = ConnectError.from(e);
      err.metadata.set("x-request-id", info.requestId);
      finish(err.code, err);
      throw err;
    }
  };
}

function codeName_(code: Code): string {
  return (Code[code] ?? "unknown").replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c : "_" + c)).toLowerCase();
}
