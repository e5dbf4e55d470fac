import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { Duplex } from "node:stream";
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
 * replaying wraps a socket whose first bytes were already read into a Duplex
 * that yields those bytes first, then the rest of the socket.
 */
function replaying(socket: net.Socket, head: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(err, callback) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  duplex.push(head);
  socket.on("data", (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on("end", () => duplex.push(null));
  socket.on("close", () => duplex.destroy());
  socket.on("error", (err) => duplex.destroy(err));
  Object.defineProperties(duplex, {
    remoteAddress: { get: () => socket.remoteAddress },
    remotePort: { get: () => socket.remotePort },
    remoteFamily: { get: () => socket.remoteFamily },
    localAddress: { get: () => socket.localAddress },
    localPort: { get: () => socket.localPort },
    encrypted: { value: false },
  });
  (duplex as unknown as { setNoDelay: () => void }).setNoDelay = () => socket.setNoDelay(true);
  (duplex as unknown as { setKeepAlive: () => void }).setKeepAlive = () => socket.setKeepAlive(true);
  (duplex as unknown as { setTimeout: (ms: number, cb?: () => void) => void }).setTimeout = (ms, cb) => {
    socket.setTimeout(ms, cb);
  };
  return duplex;
}

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
        if (isH2Prefix) {
          // http2 reads from the socket's native handle, so bytes already read
          // cannot be unshifted back: hand it a stream that replays them.
          h2Server.emit("connection", replaying(socket, seen));
        } else {
          socket.unshift(seen);
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
