/**
 * bench/outside/bare-server — the reference of the outside bench: a bare
 * connect-node server, no interceptors, no options, answering only
 * `grpc.health.v1.Health/Check` with SERVING (a no-op). It listens on
 * 127.0.0.1 twice, port 0 each: h2c (gRPC) and HTTP/1.1 (Connect), as
 * plain Node servers can't take both on one port; Gatehouse sniffs the
 * protocol on one port. It prints `{"h2c":port,"h1":port}` on one line of
 * stdout when listening and stops on SIGTERM or when stdin closes (so it
 * never outlives the bench that started it).
 *
 * Run: node --import tsx bench/outside/bare-server.ts
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";

const routes = (router: ConnectRouter) =>
  router.service(Health, {
    check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }),
    // Watch is not measured; the ServiceImpl must still have it.
    async *watch() {
      yield { status: HealthCheckResponse_ServingStatus.SERVING };
    },
  });

const h2c = http2.createServer(connectNodeAdapter({ routes }));
const h1 = http.createServer(connectNodeAdapter({ routes }));
const listen = (server: http.Server | http2.Http2Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
const ports = { h2c: await listen(h2c), h1: await listen(h1) };
process.stdout.write(JSON.stringify(ports) + "\n");

const stop = () => process.exit(0);
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
