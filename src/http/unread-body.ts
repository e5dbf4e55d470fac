import type * as http from "node:http";
import * as http2 from "node:http2";

/** UnreadBodyLimits bound how much of an abandoned HTTP/1.1 request body is read and thrown away. */
export interface UnreadBodyLimits {
  /** maxBytes: past this many discarded bytes the connection is cut instead. */
  maxBytes: number;
  /** maxMs: a body still arriving this long after it was abandoned gets its connection cut. */
  maxMs: number;
}

/**
 * discardAbandonedBody lets an HTTP/1.1 client that is still sending a body
 * the server has stopped reading (a message over the read limit, refused from
 * its declared length) read the answer it gets. connect-es stops reading by
 * leaving a `for await` over the request, which destroys the request stream
 * (with an AbortError, after unhooking it from its socket) but not the socket; the parser then stops reading the socket,
 * the client blocks writing into it, and the keep-alive timeout resets the
 * connection: the client sees ECONNRESET instead of RESOURCE_EXHAUSTED.
 * Here such a destroy (an AbortError or none, body incomplete) reads the rest of the body
 * and drops it instead, up to the limits; past them the connection is cut.
 */
export function discardAbandonedBody(req: http.IncomingMessage, limits: UnreadBodyLimits): void {
  const destroy = req.destroy.bind(req);
  const socket = req.socket;
  let discarding = false;
  req.destroy = (error?: Error) => {
    // Leaving a `for await` early destroys the request with an AbortError (and no socket).
    const abandoned = error === undefined || error === null || error.name === "AbortError";
    if (!abandoned || discarding || req.complete || req.destroyed) return destroy(error);
    discarding = true;
    // The abort unhooked the socket, which reading the rest needs.
    req.socket = socket;
    let discarded = 0;
    const cut = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    const timer = setTimeout(cut, limits.maxMs);
    timer.unref();
    req.removeAllListeners("data");
    req.removeAllListeners("readable");
    req.on("data", (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > limits.maxBytes) cut();
    });
    req.once("end", () => clearTimeout(timer));
    req.once("close", () => clearTimeout(timer));
    req.resume();
    return req;
  };
}

/**
 * resetUnreadStream ends an HTTP/2 request stream the server has answered
 * while the client is still sending (a message over the read limit, refused
 * from its declared length): once the answer is out, the stream is reset
 * with NO_ERROR (RFC 9113 §8.1), so the client stops sending and keeps the
 * answer. Without it the stream stayed half-read until the client gave up
 * (grpc-go and grpcurl after their own 60 s). The reset is submitted when
 * the response asks for its trailers, after Node's compatibility layer has
 * sent them: the trailers (the gRPC status) go out first.
 */
export function resetUnreadStream(req: http2.Http2ServerRequest): void {
  const stream = req.stream;
  // Whether the client's END_STREAM has arrived, read or not: then the stream
  // closes by itself once the answer is out.
  const clientDone = () => (stream as unknown as { _readableState?: { ended?: boolean } })._readableState?.ended === true;
  stream.once("wantTrailers", () => {
    // After this turn, so the trailers just submitted are flushed ahead of the reset.
    setImmediate(() => {
      if (clientDone() || stream.destroyed || stream.closed) return;
      stream.close(http2.constants.NGHTTP2_NO_ERROR);
    });
  });
}
