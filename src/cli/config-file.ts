import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/**
 * The CLI's config file: profiles, each with a server URL, a tenant and a
 * user, and the tokens of its login. It holds credentials, so it is written
 * with mode 0600 (its folder 0700), whole and atomically (write then rename).
 *
 * Where: $GATEHOUSE_CONFIG, else $XDG_CONFIG_HOME/gatehouse/config.json,
 * else ~/.config/gatehouse/config.json.
 */

/** Profile is one named login. */
export interface Profile {
  url?: string;
  tenant?: string;
  username?: string;
  accessToken?: string;
  refreshToken?: string;
  /** expiresAt is the access token's expiry, ISO 8601. */
  expiresAt?: string;
}

/** ConfigFile is the file's content. */
export interface ConfigFile {
  /** currentProfile is used when no --profile or GATEHOUSE_PROFILE says otherwise. */
  currentProfile: string;
  profiles: Record<string, Profile>;
}

/** configPath answers where the config file is, from the environment. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GATEHOUSE_CONFIG) return env.GATEHOUSE_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "gatehouse", "config.json");
}

/** readConfig answers the file's content, or an empty config when there is none. */
export function readConfig(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { currentProfile: "default", profiles: {} };
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<ConfigFile>;
  return { currentProfile: parsed.currentProfile ?? "default", profiles: parsed.profiles ?? {} };
}

/** writeConfig replaces the file atomically, readable by its owner only. */
export function writeConfig(path: string, config: ConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
