import type { Client } from "@connectrpc/connect";
import type { AuthService } from "./gen/gatehouse/v1/auth_pb.js";

/** TokenSet is what Login and Refresh answer: a short-lived access token and the refresh token that renews it. */
export interface TokenSet {
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
}

/** TokenSource keeps a fresh access token, logging in or refreshing as needed. */
export interface TokenSource {
  /** token answers a valid access token (pass `source.token` as a client's tokenProvider). */
  token(): Promise<string>;
  /** logout ends the session on the server and forgets the tokens. */
  logout(): Promise<void>;
}

/** TokenSourceOptions configure a token source; give a password, or `initial` tokens, or both. */
export interface TokenSourceOptions {
  tenant?: string;
  username?: string;
  password?: string;
  /** initial are tokens from an earlier login (e.g. stored by a CLI). */
  initial?: TokenSet;
  /** onTokens is told every new token set (after login and after each refresh, which rotates the refresh token). */
  onTokens?: (tokens: TokenSet) => void | Promise<void>;
  /** refreshMarginMs: refresh when less than this remains (default 60000). */
  refreshMarginMs?: number;
}

/**
 * createTokenSourceWith logs in (or starts from `initial`) through an auth
 * client and refreshes the access token, rotating the refresh token, when
 * less than `refreshMarginMs` remains. A refresh that fails logs in again when
 * a password was given, else it fails.
 */
export function createTokenSourceWith(auth: Client<typeof AuthService>, options: TokenSourceOptions, logoutWith: (token: string) => Promise<void>): TokenSource {
  const margin = options.refreshMarginMs ?? 60_000;
  let state: TokenSet | undefined = options.initial;
  let pending: Promise<void> | undefined;
  const keep = async (tokens: TokenSet) => {
    state = tokens;
    await options.onTokens?.(tokens);
  };
  const login = async () => {
    if (options.password === undefined || options.tenant === undefined || options.username === undefined) {
      throw new Error("not logged in: the token source has no tokens and no password");
    }
    const res = await auth.login({ tenant: options.tenant, username: options.username, password: options.password });
    await keep({ accessToken: res.accessToken, refreshToken: res.refreshToken, expiresAt: new Date(Number(res.expiresAt?.seconds ?? 0n) * 1000) });
  };
  const refresh = async () => {
    try {
      const res = await auth.refresh({ refreshToken: state!.refreshToken });
      await keep({ accessToken: res.accessToken, refreshToken: res.refreshToken, expiresAt: new Date(Number(res.expiresAt?.seconds ?? 0n) * 1000) });
    } catch (error) {
      if (options.password === undefined) throw error;
      await login();
    }
  };
  const once = (work: () => Promise<void>) => (pending ??= work().finally(() => (pending = undefined)));
  return {
    async token() {
      if (!state) await once(login);
      else if (state.expiresAt.getTime() - Date.now() < margin) await once(refresh);
      return state!.accessToken;
    },
    async logout() {
      if (state) await logoutWith(state.accessToken);
      state = undefined;
    },
  };
}
