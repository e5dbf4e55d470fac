import type { Interceptor } from "@connectrpc/connect";
import { createCredentialsInterceptor, type CredentialsOptions } from "./credentials.js";
import { refusedStreamIsUnavailable } from "./refused-stream.js";
import { createRetryInterceptor, type RetryOptions } from "./retry.js";

/**
 * The parts of the client that run anywhere (Node and browsers): schemas and
 * enums, service clients over any transport, error details, retries,
 * credentials and token sources. The node and web entries add transports.
 */
export * from "./schemas.js";
export { Code, ConnectError, type CallOptions, type Interceptor, type Transport } from "@connectrpc/connect";
export type { JsonObject, JsonValue } from "@bufbuild/protobuf";
export { createCredentialsInterceptor, type CredentialsOptions } from "./credentials.js";
export { errorDetailOf, reasonOf } from "./error-detail.js";
export { isRefusedStream, refusedStreamIsUnavailable } from "./refused-stream.js";
export { createRetryInterceptor, isRetryable, retryDelayMs, type RetryEvent, type RetryOptions } from "./retry.js";
export { serviceClients, type GatehouseClient, type MacrosClient, type RunMacroInput, type RunMacroResult } from "./service-clients.js";
export { createTokenSourceWith, type TokenSet, type TokenSource, type TokenSourceOptions } from "./token-source.js";

/** ClientOptions are the options common to every createGatehouseClient. */
export interface ClientOptions extends CredentialsOptions {
  /** baseUrl is the server, e.g. `http://localhost:8080`. */
  baseUrl: string;
  /** retry configures retries, or `false` turns them off (see isRetryable for which calls are retried). */
  retry?: RetryOptions | false;
  /** interceptors run inside the client's own (after retries and credentials are set up). */
  interceptors?: Interceptor[];
}

/** clientInterceptors answers the interceptors every Gatehouse client runs, outermost first: retries, refused streams as UNAVAILABLE, credentials, then the caller's own. */
export function clientInterceptors(options: ClientOptions): Interceptor[] {
  return [
    ...(options.retry === false ? [] : [createRetryInterceptor(options.retry)]),
    refusedStreamIsUnavailable,
    createCredentialsInterceptor(options),
    ...(options.interceptors ?? []),
  ];
}
