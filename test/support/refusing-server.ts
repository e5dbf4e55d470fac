import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";

/** RefusingServer is a real HTTP/2 server that refuses every stream with RST_STREAM REFUSED_STREAM. */
export interface RefusingServer {
  baseUrl: string;
  /** streams counts the streams it refused since it started. */
  streams(): number;
  close(): Promise<void>;
}

/** startRefusingServer starts a RefusingServer on a free loopback port. */
export async function startRefusingServer(): Promise<RefusingServer> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  let streams = 0;
  server.on("session", (session) => sessions.add(session));
  server.on("stream", (stream) => {
    streams++;
    stream.on("error", () => undefined); // closing with an error code reports it on our side too
    stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    streams: () => streams,
    async close() {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
