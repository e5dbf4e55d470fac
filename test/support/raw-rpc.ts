import * as http2 from "node:http2";
import * as http from "node:http";

/** RawAnswer is what a raw HTTP/2 gRPC call saw: HTTP status, gRPC status and message, or the stream's reset code. */
export interface RawAnswer {
  httpStatus?: number;
  grpcStatus?: number;
  grpcMessage?: string;
  /** rstCode is the HTTP/2 RST_STREAM code when the stream was reset (0 when it ended normally). */
  rstCode?: number;
  error?: string;
  body: Buffer;
}

/** grpcFrame wraps protobuf bytes in the gRPC length-prefixed frame (flag 0: uncompressed). */
export function grpcFrame(message: Uint8Array, flags = 0, declaredLength = message.length): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame[0] = flags;
  frame.writeUInt32BE(declaredLength >>> 0, 1);
  Buffer.from(message).copy(frame, 5);
  return frame;
}

/**
 * rawGrpc sends `body` (already framed) as one gRPC call over a fresh
 * HTTP/2 session and answers what came back. Nothing here validates or
 * re-encodes: it sends exactly the bytes and headers given.
 */
export function rawGrpc(baseUrl: string, path: string, body: Uint8Array | Uint8Array[], headers: http2.OutgoingHttpHeaders = {}, timeoutMs = 10_000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const session = http2.connect(baseUrl);
    const chunks: Buffer[] = [];
    const answer: RawAnswer = { body: Buffer.alloc(0) };
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      answer.body = Buffer.concat(chunks);
      // The answer is complete: drop whatever of the request the server did not read.
      session.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => {
      answer.error = "timeout";
      session.destroy();
      done();
    }, timeoutMs);
    session.on("error", (err) => {
      answer.error ??= String(err);
    });
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
    const status = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] !== undefined) answer.grpcStatus = Number(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) answer.grpcMessage = decodeURIComponent(String(h["grpc-message"]));
    };
    req.on("response", (h) => {
      answer.httpStatus = Number(h[":status"]);
      status(h);
      // A trailers-only answer (an error before any message) ends the call.
      if (h["grpc-status"] !== undefined) {
        answer.rstCode = 0;
        done();
      }
    });
    req.on("trailers", (h) => {
      status(h);
      answer.rstCode = 0;
      done();
    });
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("error", (err) => {
      answer.error ??= String(err);
    });
    req.on("close", () => {
      if (!settled) answer.rstCode = req.rstCode;
      done();
    });
    const parts = Array.isArray(body) ? body : [body];
    const write = (i: number): void => {
      if (settled) return;
      if (i === parts.length) {
        req.end();
        return;
      }
      // Respect backpressure: a server that stops reading must not make us buffer everything.
      if (req.write(parts[i]!)) write(i + 1);
      else req.once("drain", () => write(i + 1));
    };
    write(0);
  });
}

/**
 * protoField encodes one length-delimited protobuf field (wire type 2):
 * enough to hand-build messages no encoder would produce.
 */
export function protoField(fieldNo: number, payload: Uint8Array): Buffer {
  return Buffer.concat([varint((fieldNo << 3) | 2), varint(payload.length), Buffer.from(payload)]);
}

/** varint encodes a non-negative integer as a protobuf varint. */
export function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v > 0x7f) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** H1Answer is what a raw HTTP/1.1 request saw: the status and body, or "closed" if the server hung up first. */
export interface H1Answer {
  status: number | "closed";
  body: Buffer;
  headers: http.IncomingHttpHeaders;
}

/**
 * postH1 POSTs over a fresh HTTP/1.1 connection of its own (no keep-alive
 * pool: a server closing an idle pooled connection must not look like the
 * answer), writing `body` chunk by chunk with backpressure; without
 * `content-length` in the headers the body goes chunked.
 */
export function postH1(baseUrl: string, path: string, headers: Record<string, string>, body: Uint8Array | Iterable<Uint8Array>): Promise<H1Answer> {
  return new Promise((resolve) => {
    const url = new URL(path, baseUrl);
    let settled = false;
    const settle = (answer: H1Answer) => {
      if (settled) return;
      settled = true;
      resolve(answer);
    };
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: "POST", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => settle({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
      res.on("error", () => settle({ status: "closed", body: Buffer.concat(chunks), headers: res.headers }));
    });
    req.on("error", () => settle({ status: "closed", body: Buffer.alloc(0), headers: {} }));
    const parts = body instanceof Uint8Array ? [body][Symbol.iterator]() : body[Symbol.iterator]();
    const pump = (): void => {
      for (;;) {
        if (settled || req.destroyed) return;
        const next = parts.next();
        if (next.done) {
          req.end();
          return;
        }
        if (!req.write(next.value)) {
          req.once("drain", pump);
          return;
        }
      }
    };
    pump();
  });
}
