import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AuthService } from "../../gen/gatehouse/v1/auth_pb.js";
import { createGatehouseClient } from "../../src/client/index.js";
import { isRefusedStream, refusedStreamIsUnavailable } from "../../src/client/refused-stream.js";
import { startRefusingServer, type RefusingServer } from "../support/refusing-server.js";

/** failure answers the ConnectError a call fails with (and fails the test if it succeeds). */
const failure = (call: Promise<unknown>): Promise<ConnectError> =>
  call.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => ConnectError.from(e),
  );

/** A refused stream as Node reports it when the stream errors before its reset code is read. */
const nodeRefusal = () => Object.assign(new Error("Stream closed with error code NGHTTP2_REFUSED_STREAM"), { code: "ERR_HTTP2_STREAM_ERROR" });

describe("client: a stream the server refused", () => {
  it("recognizes the refusal through the causes connect-node wraps it in, and nothing else", () => {
    expect(isRefusedStream(ConnectError.from(nodeRefusal(), Code.Internal))).toBe(true);
    expect(isRefusedStream(nodeRefusal())).toBe(true);
    expect(isRefusedStream(Object.assign(new Error("Stream closed with error code NGHTTP2_CANCEL"), { code: "ERR_HTTP2_STREAM_ERROR" }))).toBe(false);
    expect(isRefusedStream(new ConnectError("nope", Code.Internal))).toBe(false);
    expect(isRefusedStream("NGHTTP2_REFUSED_STREAM")).toBe(false);
  });

  it("answers UNAVAILABLE instead of the INTERNAL connect-node gives, and passes other errors on", async () => {
    const refusing = refusedStreamIsUnavailable(async () => {
      throw ConnectError.from(nodeRefusal(), Code.Internal);
    });
    const other = refusedStreamIsUnavailable(async () => {
      throw new ConnectError("denied", Code.PermissionDenied);
    });
    const refusal = await failure(refusing({} as never));
    expect(refusal.code).toBe(Code.Unavailable);
    expect(refusal.cause).toBeInstanceOf(ConnectError);
    expect((await failure(other({} as never))).code).toBe(Code.PermissionDenied);
  });

  describe("from a real HTTP/2 server that refuses every stream", () => {
    let server: RefusingServer;
    let baseUrl: string;
    beforeAll(async () => {
      server = await startRefusingServer();
      baseUrl = server.baseUrl;
    });
    afterAll(() => server.close());

    it("answers UNAVAILABLE through the Gatehouse client", async () => {
      const bare = await failure(createClient(AuthService, createGrpcTransport({ baseUrl })).getJwks({}));
      const ours = await failure(createGatehouseClient({ baseUrl }).auth.getJwks({}));
      console.log(`refused stream: connect-node alone answers ${Code[bare.code]} (${bare.message}), the Gatehouse client ${Code[ours.code]}`);
      expect(ours.code).toBe(Code.Unavailable);
    });
  });
});
