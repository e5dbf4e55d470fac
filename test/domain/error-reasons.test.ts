import { readFileSync } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorDetailSchema, ErrorReason } from "../../gen/gatehouse/v1/common_pb.js";
import { DomainError, isReason, reasonCode, type Reason } from "../../src/domain/errors.js";
import { reasonOfCode, toConnectError } from "../../src/interceptors/errors.js";

const commonProto = readFileSync(new URL("../../proto/gatehouse/v1/common.proto", import.meta.url), "utf8");

/** enumBody is the text of `enum ErrorReason { … }` in common.proto. */
function enumBody(): string[] {
  const start = commonProto.indexOf("enum ErrorReason {");
  const end = commonProto.indexOf("\n}", start);
  expect(start).toBeGreaterThan(0);
  return commonProto.slice(start, end).split("\n").slice(1);
}

/** reasonWords are the names of the generated enum without UNSPECIFIED. */
const reasonWords = Object.keys(ErrorReason).filter((k) => Number.isNaN(Number(k)) && k !== "UNSPECIFIED") as Reason[];

describe("ErrorReason", () => {
  it("documents every value with a comment that starts with its name", () => {
    const lines = enumBody();
    const values = lines.flatMap((line, i) => {
      const m = /^\s*(ERROR_REASON_[A-Z_]+)\s*=\s*\d+;/.exec(line);
      return m ? [{ name: m[1]!, index: i }] : [];
    });
    expect(values.length).toBe(reasonWords.length + 1);
    for (const { name, index } of values) {
      // The comment block right above the value: consecutive `//` lines.
      const comment: string[] = [];
      for (let j = index - 1; j >= 0 && /^\s*\/\//.test(lines[j]!); j--) comment.unshift(lines[j]!.trim());
      expect(comment.length, `${name} has no doc comment`).toBeGreaterThan(0);
      expect(comment[0], `${name}'s comment must start with its name`).toMatch(new RegExp(`^// ${name}\\b`));
      expect(comment.join(" ").length, `${name}'s comment says when it occurs`).toBeGreaterThan(name.length + 20);
    }
  });

  it("matches the generated code (gen/ is current)", () => {
    const inProto = enumBody().flatMap((line) => /^\s*ERROR_REASON_([A-Z_]+)\s*=/.exec(line)?.[1] ?? []);
    expect(new Set(inProto)).toEqual(new Set([...reasonWords, "UNSPECIFIED"]));
  });

  it("maps every reason word to its value and back", () => {
    for (const word of reasonWords) {
      expect(isReason(word)).toBe(true);
      expect(ErrorReason[reasonCode(word)]).toBe(word);
    }
    expect(reasonCode("")).toBe(ErrorReason.UNSPECIFIED);
    expect(reasonCode("NOT_A_REASON")).toBe(ErrorReason.UNSPECIFIED);
    expect(isReason("UNSPECIFIED")).toBe(false);
    expect(isReason("0")).toBe(false);
  });

  it("gives every Connect code a reason from the vocabulary", () => {
    for (const code of Object.values(Code).filter((c): c is Code => typeof c === "number")) {
      expect(isReason(reasonOfCode(code)), Code[code]).toBe(true);
    }
  });
});

describe("toConnectError", () => {
  it("fills reason and reason_code alike for every reason", () => {
    for (const word of reasonWords) {
      const err = toConnectError(new DomainError("failed_precondition", word, "m"));
      const [detail] = err.findDetails(ErrorDetailSchema);
      expect(detail?.reason).toBe(word);
      expect(detail?.reasonCode).toBe(ErrorReason[word]);
    }
  });

  it("gives a foreign ConnectError the reason of its code", () => {
    const [detail] = toConnectError(new ConnectError("x", Code.FailedPrecondition)).findDetails(ErrorDetailSchema);
    expect(detail?.reason).toBe("FAILED_PRECONDITION");
    expect(detail?.reasonCode).toBe(ErrorReason.FAILED_PRECONDITION);
  });
});
