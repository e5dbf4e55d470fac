import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/**
 * A server shutting down refuses the streams opened after its GOAWAY with
 * RST_STREAM REFUSED_STREAM: the call was not processed, and gRPC maps that to
 * UNAVAILABLE (safe to retry, even for a call that changes something).
 * connect-node does so when it reads the reset code ("http/2 stream closed
 * with error code REFUSED_STREAM"), but when the stream errors first it
 * answers INTERNAL ("Stream closed with error code NGHTTP2_REFUSED_STREAM").
 */

/** errorChain answers an error and the errors of its `cause` chain, outermost first, each once. */
function errorChain(error: unknown): Error[] {
  const chain: Error[] = [];
  for (let current = error; current instanceof Error && !chain.includes(current); current = current.cause) chain.push(current);
  return chain;
}

/** isRefusedStream tells whether an error (or one of its causes) is a stream the server refused, so the call was not processed. */
export function isRefusedStream(error: unknown): boolean {
  return errorChain(error).some(
    (e) =>
      ((e as Error & { code?: unknown }).code === "ERR_HTTP2_STREAM_ERROR" && e.message.includes("NGHTTP2_REFUSED_STREAM")) ||
      (e instanceof ConnectError && e.code === Code.Unavailable && e.rawMessage.includes("stream closed with error code REFUSED_STREAM")),
  );
}

/** refusedStreamIsUnavailable answers UNAVAILABLE for a call whose stream the server refused, keeping the original as `cause`. */
export const refusedStreamIsUnavailable: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (error) {
    if (!isRefusedStream(error) || (error instanceof ConnectError && error.code === Code.Unavailable)) throw error;
    throw new ConnectError("the server refused the call's stream (it was not processed; safe to retry)", Code.Unavailable, undefined, undefined, error);
  }
};
