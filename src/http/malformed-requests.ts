import { Code, ConnectError } from "@connectrpc/connect";
import { encodeEnvelope, type UniversalHandler, type UniversalServerRequest, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeFromString, codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { ErrorDetailSchema } from "../../gen/gatehouse/v1/common_pb.js";
import type { Reason } from "../domain/errors.js";
import { errorDetail, reasonOfCode } from "../interceptors/errors.js";

/**
 * connect-es decodes a request message, and enforces the read limit, before
 * any interceptor runs, and answers what it refuses there without our
 * ErrorDetail: a message it cannot decode from binary — truncated bytes,
 * invalid UTF-8 in a string field, nesting deeper than protobuf-es's
 * recursion limit of 100 — even as INTERNAL "parse binary: …". Those answers
 * are rewritten here, in each protocol's own framing, so that every refusal
 * carries one gatehouse.v1.ErrorDetail:
 * - a message that cannot be decoded (binary or JSON, or a broken envelope):
 *   INVALID_ARGUMENT, reason MALFORMED_MESSAGE;
 * - a message over GATEHOUSE_READ_MAX_BYTES (also once decompressed):
 *   RESOURCE_EXHAUSTED, reason MESSAGE_TOO_LARGE;
 * - any other protocol-level refusal (a missing `connect-protocol-version`, a
 *   timeout over the maximum, ...): its own code, reason PROTOCOL_ERROR for
 *   INVALID_ARGUMENT, else the code's name (UNIMPLEMENTED, ...).
 * Answers that already carry details (ours) are left alone, and so is an
 * internal error that is not a parse failure.
 */

const parsePrefix = "parse binary: ";

/** decodeFailure matches the library's messages for a request message it could not decode. */
const decodeFailure = /^(cannot decode|parse (binary|json)|protocol error: (incomplete envelope|promised)|unexpected end flag|invalid envelope|.*JSON)/i;

/** refusalOf answers the detailed error for a library refusal without details, or undefined to leave it. */
function refusalOf(code: Code, libraryMessage: string): ConnectError | undefined {
  let reason: Reason;
  let message = libraryMessage.slice(0, 300);
  if (code === Code.Internal || code === Code.Unknown) {
    if (!libraryMessage.startsWith(parsePrefix)) return undefined;
    code = Code.InvalidArgument;
    reason = "MALFORMED_MESSAGE";
    message = `malformed request message: ${libraryMessage.slice(parsePrefix.length, parsePrefix.length + 200)}`;
  } else if (code === Code.ResourceExhausted) {
    reason = "MESSAGE_TOO_LARGE";
  } else if (code === Code.InvalidArgument) {
    reason = decodeFailure.test(libraryMessage) ? "MALFORMED_MESSAGE" : "PROTOCOL_ERROR";
  } else {
    reason = reasonOfCode(code);
  }
  return new ConnectError(message, code, undefined, [{ desc: ErrorDetailSchema, value: errorDetail(reason, message) }]);
}

/** rewriteGrpcTrailer adds our ErrorDetail to a gRPC (or gRPC-Web) refusal in `trailer` that has none; answers whether it did. */
function rewriteGrpcTrailer(trailer: Headers | undefined): boolean {
  const status = Number(trailer?.get("grpc-status") ?? "0");
  if (!trailer || !Number.isInteger(status) || status === 0 || trailer.has("grpc-status-details-bin")) return false;
  let message: string;
  try {
    message = decodeURIComponent(trailer.get("grpc-message") ?? "");
  } catch {
    message = "";
  }
  const error = refusalOf(status as Code, message);
  if (!error) return false;
  setTrailerStatus(trailer, error);
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

/** rewriteConnectError adds our ErrorDetail to a Connect-protocol unary error body (JSON) that has none. */
async function rewriteConnectError(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body ?? []) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const replay = (data: Uint8Array): AsyncIterable<Uint8Array> => ({
    async *[Symbol.asyncIterator]() {
      yield data;
    },
  });
  let parsed: { code?: unknown; message?: unknown; details?: unknown };
  try {
    parsed = JSON.parse(bytes.toString("utf8")) as typeof parsed;
  } catch {
    return { ...res, body: replay(bytes) };
  }
  const code = typeof parsed.code === "string" ? codeFromString(parsed.code) : undefined;
  const error = code === undefined || parsed.details !== undefined ? undefined : refusalOf(code, typeof parsed.message === "string" ? parsed.message : "");
  if (!error) return { ...res, body: replay(bytes) };
  res.header?.delete("content-length");
  return { ...res, status: codeToHttpStatus(error.code), body: replay(errorToJsonBytes(error, {})) };
}

/** answerMalformedAsInvalid wraps one handler so that its protocol-level refusals carry our ErrorDetail. */
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
    if (res.status !== 200 && contentType.startsWith("application/json")) return rewriteConnectError(res);
    return res;
  };
  return Object.assign(wrapped, handler);
}

/**
 * answerMalformedRequestsAsInvalid replaces, in place, every handler of a
 * router (before the adapter reads them) with one that answers undecodable
 * request messages with INVALID_ARGUMENT instead of INTERNAL, and gives every
 * refusal made before the interceptors our ErrorDetail (see above).
 */
export function answerMalformedRequestsAsInvalid(handlers: UniversalHandler[]): void {
  for (let i = 0; i < handlers.length; i++) handlers[i] = answerMalformedAsInvalid(handlers[i]!);
}
