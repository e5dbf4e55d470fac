import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { readFileSync } from "node:fs";

type NodeHandler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => void;

/** Listener is the one port Gatehouse serves on. */
export interface Listener {
  listen(port: number, host: string): Promise<number>;
  /** close stops accepting, lets in-flight calls finish within graceMs, then cuts the rest. */
  close(graceMs: number): Promise<void>;
}

const h2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * createListener serves `handler` on one port. Plaintext: a TCP server peeks
 * at the first bytes of each connection and hands it to an HTTP/2 (h2c) or an
 * HTTP/1.1 server, since Node's plaintext http2 server cannot also speak
 * HTTP/1.1. TLS: one HTTP/2 server with ALPN and HTTP/1.1 fallback.
 */
export function createListener(handler: NodeHandler, tls?: { certFile: string; keyFile: string }): Listener {
  const h2Sessions = new Set<http2.ServerHttp2Session>();
  const h2Options: http2.ServerOptions = { maxSessionMemory: 64, settings: { maxConcurrentStreams: 1000 }, maxHeaderListPairs: 256 };
  let front: net.Server;
  let h1: http.Server | undefined;
  let h2: http2.Http2Server | http2.Http2SecureServer;
  if (tls) {
    h2 = http2.createSecureServer(
      { ...h2Options, cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), allowHTTP1: true },
      handler as never,
    );
    front = h2;
  } else {
    h2 = http2.createServer(h2Options, handler as never);
    h1 = http.createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 0, keepAliveTimeout: 5000 }, handler as never);
    const h1Server = h1;
    const h2Server = h2;
    front = net.createServer((socket) => {
      // Nagle off: HEADERS, DATA and trailers go out as separate small writes,
      // and Nagle holding them for the peer's delayed ACK costs ~40 ms a call.
      socket.setNoDelay(true);
      let seen = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        seen = Buffer.concat([seen, chunk]);
        const n = Math.min(seen.length, h2Preface.length);
        const isH2Prefix = seen.subarray(0, n).equals(h2Preface.subarray(0, n));
        if (isH2Prefix && seen.length < h2Preface.length) return; // wait for more bytes
        socket.off("data", onData);
        socket.pause();
        socket.unshift(seen);
        if (isH2Prefix) {
          // http2 reads the socket's native handle, and a session feeds it
          // the bytes already in the socket's buffer first (Node ≥ 15), so
          // the socket itself goes to http2: a JS Duplex in between cost
          // every frame a trip through JS streams (a tenth of the CPU of a
          // call under load).
          h2Server.emit("connection", socket);
        } else {
          h1Server.emit("connection", socket);
          socket.resume();
        }
      };
      socket.on("data", onData);
      socket.on("error", () => socket.destroy());
    });
  }
  h2.on("session", (session: http2.ServerHttp2Session) => {
    h2Sessions.add(session);
    session.on("close", () => h2Sessions.delete(session));
  });
  const openSockets = new Set<net.Socket>();
  front.on("connection", (socket: net.Socket) => {
    openSockets.add(socket);
    socket.on("close", () => openSockets.delete(socket));
  });

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        front.once("error", reject);
        front.listen(port, host, () => {
          front.off("error", reject);
          resolve((front.address() as net.AddressInfo).port);
        });
      });
    },
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      for (const session of h2Sessions) session.close(); // GOAWAY: in-flight streams finish
      h1?.closeIdleConnections();
      const deadline = setTimeout(() => {
        for (const session of h2Sessions) session.destroy();
        h1?.closeAllConnections();
        for (const socket of openSockets) socket.destroy();
      }, graceMs);
      deadline.unref();
      const idle = setInterval(() => h1?.closeIdleConnections(), 100);
      await closed;
      clearInterval(idle);
      clearTimeout(deadline);
    },
  };
}
