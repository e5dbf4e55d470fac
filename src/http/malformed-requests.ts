import { Code, ConnectError } from "@connectrpc/connect";
import { encodeEnvelope, type UniversalHandler, type UniversalServerRequest, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { ErrorDetailSchema } from "../../gen/gatehouse/v1/common_pb.js";
import { errorDetail } from "../interceptors/errors.js";

/**
 * connect-es decodes a request message before any interceptor runs, and
 * answers a message it cannot decode — truncated bytes, invalid UTF-8 in a
 * string field, nesting deeper than protobuf-es's recursion limit of 100 —
 * with INTERNAL "parse binary: …". That is the client's fault, not ours:
 * these answers are rewritten to INVALID_ARGUMENT with our ErrorDetail
 * (reason MALFORMED_MESSAGE), in each protocol's own framing.
 */

const parsePrefix = "parse binary: ";

/** malformedMessage is the error a request that cannot be decoded gets. */
function malformedMessage(libraryMessage: string): ConnectError {
  const message = `malformed request message: ${libraryMessage.slice(parsePrefix.length, parsePrefix.length + 200)}`;
  return new ConnectError(message, Code.InvalidArgument, undefined, [
    { desc: ErrorDetailSchema, value: errorDetail("MALFORMED_MESSAGE", message) },
  ]);
}

/** parseFailureIn answers the library's message when `trailer` carries a gRPC parse failure. */
function parseFailureIn(trailer: Headers | undefined): string | undefined {
  if (trailer?.get("grpc-status") !== String(Code.Internal)) return undefined;
  let message: string;
  try {
    message = decodeURIComponent(trailer.get("grpc-message") ?? "");
  } catch {
    return undefined;
  }
  return message.startsWith(parsePrefix) ? message : undefined;
}

/** rewriteGrpcTrailer replaces a gRPC (or gRPC-Web) parse failure in `trailer`; answers whether it did. */
function rewriteGrpcTrailer(trailer: Headers | undefined): boolean {
  const failure = parseFailureIn(trailer);
  if (failure === undefined || !trailer) return false;
  trailer.delete("grpc-status-details-bin");
  setTrailerStatus(trailer, malformedMessage(failure));
  return true;
}

/**
 * mapBody maps each chunk of a response body and calls `onDone` once it is
 * exhausted, forwarding throw and return to the original iterator (the
 * adapter reports write errors through them, which aborts the handler).
 */
function mapBody(body: AsyncIterable<Uint8Array>, map: (chunk: Uint8Array) => Uint8Array, onDone: () => void = () => {}): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const it = body[Symbol.asyncIterator]();
      return {
        async next() {
          const r = await it.next();
          if (r.done === true) {
            onDone();
            return r;
          }
          return { done: false, value: map(r.value) };
        },
        throw: it.throw ? (e?: unknown) => it.throw!(e) : undefined,
        return: it.return ? (v?: unknown) => it.return!(v) : undefined,
      };
    },
  };
}

/** rewriteGrpcWebChunk rewrites the trailer frame of a gRPC-Web body (a chunk holding exactly that frame). */
function rewriteGrpcWebChunk(chunk: Uint8Array): Uint8Array {
  if (chunk.length < 5 || chunk[0] !== trailerFlag) return chunk;
  if (new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).getUint32(1) !== chunk.length - 5) return chunk;
  const trailer = trailerParse(chunk.subarray(5));
  return rewriteGrpcTrailer(trailer) ? encodeEnvelope(trailerFlag, trailerSerialize(trailer)) : chunk;
}

/** rewriteConnectError rewrites a Connect-protocol unary error body (JSON) of a parse failure. */
async function rewriteConnectError(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body ?? []) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const replay = (data: Uint8Array): AsyncIterable<Uint8Array> => ({
    async *[Symbol.asyncIterator]() {
      yield data;
    },
  });
  let parsed: { code?: unknown; message?: unknown };
  try {
    parsed = JSON.parse(bytes.toString("utf8")) as typeof parsed;
  } catch {
    return { ...res, body: replay(bytes) };
  }
  if (parsed.code !== "internal" || typeof parsed.message !== "string" || !parsed.message.startsWith(parsePrefix)) {
    return { ...res, body: replay(bytes) };
  }
  const error = malformedMessage(parsed.message);
  res.header?.delete("content-length");
  return { ...res, status: codeToHttpStatus(error.code), body: replay(errorToJsonBytes(error, {})) };
}

/** answerMalformedAsInvalid wraps one handler so that its parse failures answer INVALID_ARGUMENT. */
function answerMalformedAsInvalid(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const res = await handler(req);
    const contentType = res.header?.get("content-type") ?? "";
    if (contentType.startsWith("application/grpc-web")) {
      return res.body ? { ...res, body: mapBody(res.body, rewriteGrpcWebChunk) } : res;
    }
    if (contentType.startsWith("application/grpc")) {
      // A unary call that failed before its first message has its trailer set
      // by now; a stream's messages are decoded as they come, so look again
      // when its body is done (the adapter writes the trailer after that).
      rewriteGrpcTrailer(res.trailer);
      return res.body ? { ...res, body: mapBody(res.body, (chunk) => chunk, () => rewriteGrpcTrailer(res.trailer)) } : res;
    }
    if (res.status === 500 && contentType.startsWith("application/json")) return rewriteConnectError(res);
    return res;
  };
  return Object.assign(wrapped, handler);
}

/**
 * answerMalformedRequestsAsInvalid replaces, in place, every handler of a
 * router (before the adapter reads them) with one that answers undecodable
 * request messages with INVALID_ARGUMENT instead of INTERNAL.
 */
export function answerMalformedRequestsAsInvalid(handlers: UniversalHandler[]): void {
  for (let i = 0; i < handlers.length; i++) handlers[i] = answerMalformedAsInvalid(handlers[i]!);
}
