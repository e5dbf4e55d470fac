import { mkdtempSync, rmSync, statSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configPath, readConfig, writeConfig } from "../../src/cli/config-file.js";

describe("cli config file", () => {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("lives at GATEHOUSE_CONFIG, else under XDG_CONFIG_HOME, else ~/.config", () => {
    expect(configPath({ GATEHOUSE_CONFIG: "/x/c.json", XDG_CONFIG_HOME: "/xdg" })).toBe("/x/c.json");
    expect(configPath({ XDG_CONFIG_HOME: "/xdg" })).toBe("/xdg/gatehouse/config.json");
    expect(configPath({})).toBe(join(homedir(), ".config", "gatehouse", "config.json"));
  });

  it("is written readable by its owner only, in a folder of its own, and read back", () => {
    const path = join(dir, "nested", "gatehouse", "config.json");
    expect(readConfig(path)).toEqual({ currentProfile: "default", profiles: {} });
    writeConfig(path, { currentProfile: "ops", profiles: { ops: { url: "http://h:1", refreshToken: "r" } } });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "nested", "gatehouse")).mode & 0o777).toBe(0o700);
    expect(readConfig(path).profiles.ops?.refreshToken).toBe("r");
  });
});
