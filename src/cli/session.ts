import { createGatehouseClient, createTokenSource, isUuid, type GatehouseClient, type TokenSet } from "./client.js";
import { configPath, readConfig, writeConfig, type Profile } from "./config-file.js";
import { ExitCode } from "./exit-codes.js";
import { CliError, createOutput, type Output } from "./output.js";

/** GlobalOptions are the flags every command takes. */
export interface GlobalOptions {
  profile?: string;
  url?: string;
  json?: boolean;
  retry?: boolean;
}

/**
 * Session is what a command works with: the resolved profile and server,
 * output, and clients. Settings come from flags, then the environment
 * (GATEHOUSE_URL, GATEHOUSE_TOKEN, GATEHOUSE_TENANT, GATEHOUSE_PROFILE), then
 * the profile in the config file.
 */
export interface Session {
  out: Output;
  configPath: string;
  profileName: string;
  profile: Profile;
  /** url is the server's base URL; throws a usage error when none is configured. */
  url(): string;
  /** tenant is the tenant to log in to. */
  tenant(): string;
  /** client answers clients that send the profile's (or GATEHOUSE_TOKEN's) access token, refreshing and storing rotated tokens. */
  client(): GatehouseClient;
  /** anonymous answers clients without credentials (Login). */
  anonymous(): GatehouseClient;
  /** saveProfile replaces the profile in the config file. */
  saveProfile(profile: Profile | undefined, makeCurrent?: boolean): void;
  /** tokenSource answers the stored login's token source, or undefined without one. */
  storedTokens(): TokenSet | undefined;
}

/** openSession resolves a command's settings. */
export function openSession(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Session {
  const path = configPath(env);
  const config = readConfig(path);
  const profileName = options.profile ?? env.GATEHOUSE_PROFILE ?? config.currentProfile;
  let profile: Profile = config.profiles[profileName] ?? {};
  const out = createOutput(options.json === true);
  const retry = options.retry === false ? (false as const) : undefined;
  const url = () => {
    const value = options.url ?? env.GATEHOUSE_URL ?? profile.url;
    if (!value) throw new CliError("no server: pass --url, set GATEHOUSE_URL, or log in first (gatehouse login --url …)");
    return value.replace(/\/+$/, "");
  };
  const storedTokens = (): TokenSet | undefined =>
    profile.accessToken && profile.refreshToken
      ? { accessToken: profile.accessToken, refreshToken: profile.refreshToken, expiresAt: new Date(profile.expiresAt ?? 0) }
      : undefined;
  const saveProfile = (next: Profile | undefined, makeCurrent = false) => {
    const fresh = readConfig(path);
    if (next === undefined) delete fresh.profiles[profileName];
    else fresh.profiles[profileName] = next;
    if (makeCurrent) fresh.currentProfile = profileName;
    writeConfig(path, fresh);
    profile = next ?? {};
  };
  let cached: GatehouseClient | undefined;
  return {
    out,
    configPath: path,
    profileName,
    get profile() {
      return profile;
    },
    url,
    tenant: () => env.GATEHOUSE_TENANT ?? profile.tenant ?? "default",
    storedTokens,
    saveProfile,
    anonymous: () => createGatehouseClient({ baseUrl: url(), retry }),
    client() {
      if (cached) return cached;
      if (env.GATEHOUSE_TOKEN) return (cached = createGatehouseClient({ baseUrl: url(), token: env.GATEHOUSE_TOKEN, retry }));
      const initial = storedTokens();
      if (!initial) throw new CliError(`not logged in (profile ${profileName}): run gatehouse login`, ExitCode.unauthenticated);
      const tokens = createTokenSource({
        baseUrl: url(),
        retry,
        initial,
        // The server rotates the refresh token on every refresh: keep the new one, or the next run is logged out.
        onTokens: (t) => saveProfile({ ...profile, accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: t.expiresAt.toISOString() }),
      });
      return (cached = createGatehouseClient({ baseUrl: url(), tokenProvider: tokens.token, retry }));
    },
  };
}

export { isUuid };
