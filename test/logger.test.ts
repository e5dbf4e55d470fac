import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, formatPrettyLine } from "../src/logger.js";
import { ConfigError, loadConfig } from "../src/config.js";

describe("createLogger", () => {
  it("writes a human-readable line in the pretty format, secrets still redacted", async () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const logger = createLogger("info", out, "pretty");
    logger.info({ method: "gatehouse.v1.AuthService/Login", code: "ok", password: "hunter2-secret" }, "rpc");
    await new Promise((resolve) => setImmediate(resolve));
    expect(text).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  rpc  method=gatehouse\.v1\.AuthService\/Login code=ok password=\[redacted\]\n$/);
    expect(text).not.toContain("hunter2");
  });

  it("passes a line that is not JSON through unchanged", () => {
    expect(formatPrettyLine("plain words")).toBe("plain words");
  });
});

describe("loadConfig, the first hour's variables", () => {
  it("refuses a GATEHOUSE_ADMIN_PASSWORD the password policy refuses", () => {
    expect(() => loadConfig({ GATEHOUSE_ADMIN_PASSWORD: "short" })).toThrow(ConfigError);
    expect(loadConfig({ GATEHOUSE_ADMIN_PASSWORD: "long-enough-password" }).adminPassword).toBe("long-enough-password");
  });

  it("defaults the check budget to 60,000 a minute and access lines to errors, and checks both variables", () => {
    const config = loadConfig({ GATEHOUSE_LOG_FORMAT: "json" });
    expect(config.checkRateLimitPerMinute).toBe(60_000);
    expect(config.accessLog).toBe("errors");
    expect(() => loadConfig({ GATEHOUSE_ACCESS_LOG: "some" })).toThrow(ConfigError);
    expect(() => loadConfig({ GATEHOUSE_LOG_FORMAT: "xml" })).toThrow(ConfigError);
    expect(loadConfig({ GATEHOUSE_LOG_FORMAT: "pretty" }).logFormat).toBe("pretty");
  });
});
