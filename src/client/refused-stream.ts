import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { errorChain } from "../domain/error-chain.js";

/**
 * A server shutting down refuses the streams opened after its GOAWAY with
 * RST_STREAM REFUSED_STREAM: the call was not processed, and gRPC maps that to
 * UNAVAILABLE (safe to retry). connect-node does so when it reads the reset
 * code, but when the stream errors first it answers INTERNAL ("Stream closed
 * with error code NGHTTP2_REFUSED_STREAM"), seen here in about half the
 * SIGTERM-under-load runs on a busy machine.
 */

/** isRefusedStream tells whether an error (or one of its causes) is a stream the server refused. */
export function isRefusedStream(error: unknown): boolean {
  return errorChain(error).some(
    (e) => (e as Error & { code?: unknown }).code === "ERR_HTTP2_STREAM_ERROR" && e.message.includes("NGHTTP2_REFUSED_STREAM"),
  );
}

/** refusedStreamIsUnavailable answers UNAVAILABLE for a unary call whose stream the server refused. */
export const refusedStreamIsUnavailable: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (error) {
    if (!isRefusedStream(error)) throw error;
    throw new ConnectError("the server refused the call's stream (it was not processed; safe to retry)", Code.Unavailable, undefined, undefined, error);
  }
};
