import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { clientInterceptors, type ClientOptions } from "./core.js";
import { serviceClients, type GatehouseClient } from "./service-clients.js";
import { createTokenSourceWith, type TokenSource, type TokenSourceOptions } from "./token-source.js";

/** The client for Node: everything of the core, over connect-node (gRPC, Connect or gRPC-Web; HTTP/2 or HTTP/1.1). */
export * from "./core.js";

/** GatehouseClientOptions configure createGatehouseClient in Node. */
export interface GatehouseClientOptions extends ClientOptions {
  /** protocol is "grpc" (HTTP/2, default), "connect" or "grpc-web". */
  protocol?: "grpc" | "connect" | "grpc-web";
  /** httpVersion for connect and grpc-web (default "2"; grpc is always HTTP/2). */
  httpVersion?: "1.1" | "2";
}

/**
 * createGatehouseClient returns typed clients for every Gatehouse service
 * over one gRPC, Connect or gRPC-Web transport, with the bearer token (or API
 * key) on every call and retries of the calls that are safe to retry.
 */
export function createGatehouseClient(options: GatehouseClientOptions): GatehouseClient {
  const interceptors = clientInterceptors(options);
  const protocol = options.protocol ?? "grpc";
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl: options.baseUrl, interceptors })
      : protocol === "grpc-web"
        ? createGrpcWebTransport({ baseUrl: options.baseUrl, httpVersion: options.httpVersion ?? "2", interceptors })
        : createConnectTransport({ baseUrl: options.baseUrl, httpVersion: options.httpVersion ?? "2", interceptors });
  return serviceClients(transport);
}

/**
 * createTokenSource logs in with a password (or starts from stored tokens)
 * and keeps a fresh access token, refreshing it (rotating the refresh token)
 * before it expires. Pass `source.token` as a client's tokenProvider.
 */
export function createTokenSource(options: TokenSourceOptions & Pick<GatehouseClientOptions, "baseUrl" | "protocol" | "httpVersion" | "retry">): TokenSource {
  const client = (token?: string) =>
    createGatehouseClient({ baseUrl: options.baseUrl, protocol: options.protocol, httpVersion: options.httpVersion, retry: options.retry, token });
  return createTokenSourceWith(client().auth, options, async (token) => {
    await client(token).auth.logout({});
  });
}
