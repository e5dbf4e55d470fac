import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { clientInterceptors, type ClientOptions } from "./core.js";
import { serviceClients, type GatehouseClient } from "./service-clients.js";
import { createTokenSourceWith, type TokenSource, type TokenSourceOptions } from "./token-source.js";

/** The client for browsers and bundlers: everything of the core, over connect-web (fetch). */
export * from "./core.js";

/** GatehouseClientOptions configure createGatehouseClient in a browser. */
export interface GatehouseClientOptions extends ClientOptions {
  /** protocol is "connect" (default) or "grpc-web". */
  protocol?: "connect" | "grpc-web";
  /** credentials is fetch's credentials mode (e.g. "same-origin" or "include" for cookie sessions). */
  credentials?: RequestCredentials;
  /** fetch replaces globalThis.fetch. */
  fetch?: typeof globalThis.fetch;
}

/**
 * createGatehouseClient returns typed clients for every Gatehouse service
 * over Connect (or gRPC-Web) with fetch, with the bearer token (or API key)
 * on every call and retries of the calls that are safe to retry.
 */
export function createGatehouseClient(options: GatehouseClientOptions): GatehouseClient {
  const interceptors = clientInterceptors(options);
  const base = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const fetch = options.credentials === undefined ? base : (input: RequestInfo | URL, init?: RequestInit) => base(input, { ...init, credentials: options.credentials });
  const transport =
    options.protocol === "grpc-web"
      ? createGrpcWebTransport({ baseUrl: options.baseUrl, interceptors, fetch })
      : createConnectTransport({ baseUrl: options.baseUrl, interceptors, fetch });
  return serviceClients(transport);
}

/** createTokenSource logs in with a password (or starts from stored tokens) and keeps a fresh access token. */
export function createTokenSource(options: TokenSourceOptions & Pick<GatehouseClientOptions, "baseUrl" | "protocol" | "retry" | "fetch">): TokenSource {
  const client = (token?: string) => createGatehouseClient({ baseUrl: options.baseUrl, protocol: options.protocol, retry: options.retry, fetch: options.fetch, token });
  return createTokenSourceWith(client().auth, options, async (token) => {
    await client(token).auth.logout({});
  });
}
