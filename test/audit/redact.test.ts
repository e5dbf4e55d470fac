import { describe, expect, it } from "vitest";
import { redact } from "../../src/audit/audit-store.js";

describe("redact", () => {
  it("hides secrets at any depth and keeps counters and policy flags", () => {
    const out = redact({
      password: "p",
      nested: { refreshToken: "r", accessToken: "a", csrf_token: "c", hmacKey: "k", list: [{ newPassword: "n" }] },
      fencingToken: "42",
      allowRoomTokens: true,
      name: "visible",
    });
    expect(out).toEqual({
      password: "[redacted]",
      nested: { refreshToken: "[redacted]", accessToken: "[redacted]", csrf_token: "[redacted]", hmacKey: "[redacted]", list: [{ newPassword: "[redacted]" }] },
      fencingToken: "42",
      allowRoomTokens: true,
      name: "visible",
    });
  });
});
