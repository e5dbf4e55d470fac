import type { Interceptor } from "@connectrpc/connect";

/** CredentialsOptions say what a client sends with every call. Give at most one of token, apiKey and tokenProvider. */
export interface CredentialsOptions {
  /** token is a fixed bearer access token (from Login). */
  token?: string;
  /**
   * apiKey is a service account's key, sent as `authorization: Bearer <key>`.
   * (Service accounts are not on the server yet; the option is where they will plug in.)
   */
  apiKey?: string;
  /** tokenProvider is asked for the bearer token before each call (see createTokenSource). */
  tokenProvider?: () => string | undefined | Promise<string | undefined>;
  /** headers are sent with every call (e.g. `x-room-token`). */
  headers?: Record<string, string>;
}

/** createCredentialsInterceptor sets the bearer token (or API key) and the fixed headers on every call. */
export function createCredentialsInterceptor(options: CredentialsOptions): Interceptor {
  const given = [options.token, options.apiKey, options.tokenProvider].filter((v) => v !== undefined).length;
  if (given > 1) throw new TypeError("give at most one of token, apiKey and tokenProvider");
  return (next) => async (req) => {
    const bearer = options.token ?? options.apiKey ?? (await options.tokenProvider?.());
    if (bearer) req.header.set("authorization", `Bearer ${bearer}`);
    for (const [k, v] of Object.entries(options.headers ?? {})) req.header.set(k, v);
    return next(req);
  };
}
