import * as http2 from "node:http2";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/gatehouse/v1/auth_pb.js";
import { ErrorDetailSchema } from "../../gen/gatehouse/v1/common_pb.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { grpcFrame, postH1, protoField } from "../support/raw-rpc.js";
import { refused } from "../support/fixtures.js";

/**
 * Every refusal carries our ErrorDetail (issue 13, finding 8), including
 * those connect-es makes before any interceptor runs: messages it cannot
 * decode (MALFORMED_MESSAGE) and messages over the read limit
 * (MESSAGE_TOO_LARGE), over Connect, gRPC and gRPC-Web; and over h2c a
 * refused oversized frame has its stream reset right after the answer.
 */

/** H2Answer is what one raw HTTP/2 call saw, and how its stream ended. */
interface H2Answer {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  /** ended says how the stream ended: "reset" (closed while the client was still sending), "closed", or "timeout". */
  ended: "reset" | "closed" | "timeout";
  rstCode?: number;
}

/**
 * rawH2 sends `parts` as one call's body with backpressure and never ends the
 * request on its own before all parts are written; answers once the stream
 * closes (or after `guardMs`, a failure).
 */
function rawH2(baseUrl: string, path: string, headers: http2.OutgoingHttpHeaders, parts: Buffer[], guardMs = 20_000): Promise<H2Answer> {
  return new Promise((resolve) => {
    const session = http2.connect(baseUrl);
    session.on("error", () => undefined);
    const answer: H2Answer = { headers: {}, trailers: {}, ended: "timeout" };
    let clientEnded = false;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      resolve({ ...answer });
      session.destroy();
    };
    const guard = setTimeout(finish, guardMs);
    const req = session.request({ ":method": "POST", ":path": path, ...headers });
    req.on("response", (h) => (answer.headers = h));
    req.on("trailers", (h) => (answer.trailers = h));
    req.on("data", () => undefined);
    req.on("error", () => undefined);
    req.on("close", () => {
      if (settled) return;
      answer.ended = clientEnded ? "closed" : "reset";
      answer.rstCode = req.rstCode;
      finish();
    });
    const write = (i: number): void => {
      if (req.closed || req.destroyed) return;
      if (i === parts.length) {
        clientEnded = true;
        req.end();
        return;
      }
      if (req.write(parts[i]!)) write(i + 1);
      else req.once("drain", () => write(i + 1));
    };
    write(0);
  });
}

/** grpcDetailReason reads the ErrorDetail reason of gRPC trailers (or trailers-only headers). */
function grpcDetailReason(trailer: Headers): { code?: Code; reason?: string } {
  const err = findTrailerError(trailer);
  return { code: err?.code, reason: err?.findDetails(ErrorDetailSchema)[0]?.reason };
}

const toHeaders = (h: http2.IncomingHttpHeaders) => {
  const headers = new Headers();
  for (const [k, v] of Object.entries(h)) if (!k.startsWith(":") && v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : String(v));
  return headers;
};

/** connectDetail reads a Connect unary error body's code and ErrorDetail reason. */
function connectDetail(body: Buffer): { code?: string; reason?: string } {
  const parsed = JSON.parse(body.toString("utf8")) as { code?: string; details?: Array<{ type: string; debug?: { reason?: string } }> };
  const detail = parsed.details?.find((d) => d.type === "gatehouse.v1.ErrorDetail");
  return { code: parsed.code, reason: detail?.debug?.reason };
}

/** grpcWebDetail reads the trailer frame of a gRPC-Web body. */
function grpcWebDetail(body: Buffer): { code?: Code; reason?: string } {
  for (let at = 0; at + 5 <= body.length; ) {
    const length = body.readUInt32BE(at + 1);
    if (body[at] === trailerFlag) return grpcDetailReason(trailerParse(body.subarray(at + 5, at + 5 + length)));
    at += 5 + length;
  }
  return {};
}

const connectJson = { "content-type": "application/json", "connect-protocol-version": "1" };

describe("refusals made before the interceptors", () => {
  let server: TestServer;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer({ redis: false });
    token = await server.login();
  });
  afterAll(async () => {
    await server?.close();
  });

  describe("JSON that does not decode", () => {
    const cases = [
      ["/gatehouse.v1.AuditService/ListAuditEvents", '{"pageSize": 1e400}'],
      ["/gatehouse.v1.AuthService/Login", '{"tenant": 5}'],
      ["/gatehouse.v1.AuthService/Login", '{"tenant": "default", '],
    ] as const;

    it("answers INVALID_ARGUMENT with reason MALFORMED_MESSAGE over Connect", async () => {
      for (const [path, body] of cases) {
        const res = await postH1(server.baseUrl, path, { ...connectJson, authorization: `Bearer ${token}` }, Buffer.from(body));
        expect({ body, status: res.status, ...connectDetail(res.body) }).toEqual({ body, status: 400, code: "invalid_argument", reason: "MALFORMED_MESSAGE" });
      }
    });

    it("answers INVALID_ARGUMENT with reason MALFORMED_MESSAGE over gRPC-Web", async () => {
      for (const [path, body] of cases) {
        const res = await postH1(server.baseUrl, path, { "content-type": "application/grpc-web+json", authorization: `Bearer ${token}` }, grpcFrame(Buffer.from(body)));
        expect({ body, ...grpcWebDetail(res.body) }).toEqual({ body, code: Code.InvalidArgument, reason: "MALFORMED_MESSAGE" });
      }
    });

    it("answers INVALID_ARGUMENT with reason MALFORMED_MESSAGE over gRPC", async () => {
      for (const [path, body] of cases) {
        const answer = await rawH2(server.baseUrl, path, { "content-type": "application/grpc+json", te: "trailers", authorization: `Bearer ${token}` }, [grpcFrame(Buffer.from(body))]);
        const trailer = toHeaders({ ...answer.headers, ...answer.trailers });
        expect({ body, ...grpcDetailReason(trailer) }).toEqual({ body, code: Code.InvalidArgument, reason: "MALFORMED_MESSAGE" });
      }
    });
  });

  describe("other protocol-level refusals", () => {
    it("answers a Connect call without connect-protocol-version INVALID_ARGUMENT with reason PROTOCOL_ERROR", async () => {
      const res = await postH1(server.baseUrl, "/gatehouse.v1.AuthService/GetJwks", { "content-type": "application/json" }, Buffer.from("{}"));
      expect({ status: res.status, ...connectDetail(res.body) }).toEqual({ status: 400, code: "invalid_argument", reason: "PROTOCOL_ERROR" });
    });
  });

  describe("a message over the read limit", () => {
    it("answers RESOURCE_EXHAUSTED with reason MESSAGE_TOO_LARGE over Connect, gRPC-Web and gRPC", async () => {
      const password = "x".repeat(server.config.readMaxBytes + 1);
      for (const transport of [
        createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }),
        createConnectTransport({ baseUrl: server.baseUrl, httpVersion: "2", useBinaryFormat: true }),
        createGrpcWebTransport({ baseUrl: server.baseUrl, httpVersion: "1.1" }),
        createGrpcTransport({ baseUrl: server.baseUrl }),
      ]) {
        await refused(createClient(AuthService, transport).login({ tenant: "default", username: "admin", password }), Code.ResourceExhausted, "MESSAGE_TOO_LARGE");
      }
    });

    it("answers a 5 MiB gRPC frame over h2c early and resets the stream at once", async () => {
      const message = protoField(3, Buffer.alloc(5 * 1024 * 1024, 0x61)); // LoginRequest.password
      const frame = grpcFrame(message);
      const parts = Array.from({ length: Math.ceil(frame.length / 65536) }, (_, i) => frame.subarray(i * 65536, (i + 1) * 65536));
      const answer = await rawH2(server.baseUrl, "/gatehouse.v1.AuthService/Login", { "content-type": "application/grpc", te: "trailers" }, parts);
      const trailer = toHeaders({ ...answer.headers, ...answer.trailers });
      expect(grpcDetailReason(trailer)).toEqual({ code: Code.ResourceExhausted, reason: "MESSAGE_TOO_LARGE" });
      // The server ended the stream while the client was still sending: not left half-read.
      expect(answer.ended).toBe("reset");
      expect(answer.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    });

    it("still answers well-formed calls normally on h2c", async () => {
      const res = await createClient(AuthService, createGrpcTransport({ baseUrl: server.baseUrl })).getJwks({});
      expect(res.keys.length).toBeGreaterThan(0);
      const err = await createClient(AuthService, createGrpcTransport({ baseUrl: server.baseUrl }))
        .login({ tenant: "default", username: "admin", password: "wrong-password" })
        .catch((e: unknown) => ConnectError.from(e));
      expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    });
  });
});
