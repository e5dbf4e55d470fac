import type { Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { refusedStreamIsUnavailable } from "./refused-stream.js";
import { serviceClients, type GatehouseClient } from "./service-clients.js";

export type { GatehouseClient };

/** GatehouseClientOptions configure createGatehouseClient. */
export interface GatehouseClientOptions {
  /** baseUrl is the server, e.g. `http://localhost:8080`. */
  baseUrl: string;
  /** protocol is "grpc" (HTTP/2, default), "connect" or "grpc-web". */
  protocol?: "grpc" | "connect" | "grpc-web";
  /** httpVersion for connect and grpc-web (default "2"; grpc is always HTTP/2). */
  httpVersion?: "1.1" | "2";
  /** token is a fixed bearer access token. */
  token?: string;
  /** tokenProvider is asked for the bearer token before each call (see createTokenSource). */
  tokenProvider?: () => string | undefined | Promise<string | undefined>;
  /** headers are sent with every call (e.g. x-room-token). */
  headers?: Record<string, string>;
  interceptors?: Interceptor[];
}

/**
 * createGatehouseClient returns typed clients for every Gatehouse service
 * over one gRPC, Connect or gRPC-Web transport, adding the bearer token.
 */
export function createGatehouseClient(options: GatehouseClientOptions): GatehouseClient {
  const auth: Interceptor = (next) => async (req) => {
    const token = options.token ?? (await options.tokenProvider?.());
    if (token) req.header.set("authorization", `Bearer ${token}`);
    for (const [k, v] of Object.entries(options.headers ?? {})) req.header.set(k, v);
    return next(req);
  };
  const interceptors = [refusedStreamIsUnavailable, auth, ...(options.interceptors ?? [])];
  const protocol = options.protocol ?? "grpc";
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl: options.baseUrl, interceptors })
      : protocol === "grpc-web"
        ? createGrpcWebTransport({ baseUrl: options.baseUrl, httpVersion: options.httpVersion ?? "2", interceptors })
        : createConnectTransport({ baseUrl: options.baseUrl, httpVersion: options.httpVersion ?? "2", interceptors });
  return serviceClients(transport);
}

/** TokenSource logs in once and keeps a fresh access token, refreshing before expiry. */
export interface TokenSource {
  token(): Promise<string>;
  logout(): Promise<void>;
}

/**
 * createTokenSource logs in with a password and refreshes the access token
 * (rotating the refresh token) when less than `refreshMarginMs` remains.
 * Pass `source.token` as a client's tokenProvider.
 */
export function createTokenSource(options: {
  baseUrl: string;
  protocol?: "grpc" | "connect";
  tenant: string;
  username: string;
  password: string;
  refreshMarginMs?: number;
}): TokenSource {
  const margin = options.refreshMarginMs ?? 60_000;
  let state: { access: string; refresh: string; expiresAt: number } | undefined;
  let pending: Promise<void> | undefined;
  const client = createGatehouseClient({ baseUrl: options.baseUrl, protocol: options.protocol, tokenProvider: () => state?.access });
  const login = async () => {
    const res = await client.auth.login({ tenant: options.tenant, username: options.username, password: options.password });
    state = { access: res.accessToken, refresh: res.refreshToken, expiresAt: Number(res.expiresAt?.seconds ?? 0n) * 1000 };
  };
  const refresh = async () => {
    try {
      const res = await client.auth.refresh({ refreshToken: state!.refresh });
      state = { access: res.accessToken, refresh: res.refreshToken, expiresAt: Number(res.expiresAt?.seconds ?? 0n) * 1000 };
    } catch {
      await login();
    }
  };
  return {
    async token() {
      if (!state) await (pending ??= login().finally(() => (pending = undefined)));
      else if (state.expiresAt - Date.now() < margin) await (pending ??= refresh().finally(() => (pending = undefined)));
      return state!.access;
    },
    async logout() {
      if (state) await client.auth.logout({});
      state = undefined;
    },
  };
}
