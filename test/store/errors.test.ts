import { describe, expect, it } from "vitest";
import {
  AlreadyExistsError,
  classifyDriverError,
  ConflictError,
  ForeignKeyError,
  InvalidDataError,
  isUnavailableError,
  mapDriverError,
  TenantIsolationError,
  UnavailableError,
} from "../../src/store/errors.js";

const withCode = (code: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error("driver said no"), { code, ...extra });

describe("classifyDriverError", () => {
  it("maps constraint violations by SQLSTATE, keeping the constraint name", () => {
    const unique = classifyDriverError(withCode("23505", { constraint: "users_tenant_id_username_key" }));
    expect(unique).toBeInstanceOf(AlreadyExistsError);
    expect(unique).toMatchObject({ kind: "already_exists", constraint: "users_tenant_id_username_key", sqlState: "23505" });
    expect(classifyDriverError(withCode("23503"))).toBeInstanceOf(ForeignKeyError);
    expect(classifyDriverError(withCode("23514"))).toBeInstanceOf(InvalidDataError);
    expect(classifyDriverError(withCode("23502"))).toBeInstanceOf(InvalidDataError);
    expect(classifyDriverError(withCode("22P02"))).toBeInstanceOf(InvalidDataError);
    expect(classifyDriverError(withCode("40001"))).toBeInstanceOf(ConflictError);
    expect(classifyDriverError(withCode("40P01"))).toBeInstanceOf(ConflictError);
    expect(classifyDriverError(withCode("42501"))).toBeInstanceOf(TenantIsolationError);
  });

  it("maps lost and refused connections to UnavailableError", () => {
    for (const code of ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "57P01", "57P03", "08006", "08001", "53300"]) {
      expect(classifyDriverError(withCode(code)), code).toBeInstanceOf(UnavailableError);
    }
    for (const message of [
      "Connection terminated unexpectedly",
      "Connection terminated",
      "Connection ended unexpectedly",
      "Knex: Timeout acquiring a connection. The pool is probably full.",
    ]) {
      expect(classifyDriverError(new Error(message)), message).toBeInstanceOf(UnavailableError);
    }
    const refusedTwice = new AggregateError([withCode("ECONNREFUSED"), withCode("ECONNREFUSED")], "");
    expect(isUnavailableError(refusedTwice)).toBe(true);
  });

  it("follows the cause chain and passes StoreErrors through", () => {
    const wrapped = new Error("while saving", { cause: withCode("23505") });
    expect(classifyDriverError(wrapped)).toBeInstanceOf(AlreadyExistsError);
    const already = new UnavailableError("down");
    expect(classifyDriverError(already)).toBe(already);
  });

  it("leaves unknown errors alone", () => {
    const bug = new TypeError("x is undefined");
    expect(classifyDriverError(bug)).toBeUndefined();
    expect(mapDriverError(bug)).toBe(bug);
    expect(classifyDriverError(withCode("42P01"))).toBeUndefined();
    expect(classifyDriverError("not an error")).toBeUndefined();
  });

  it("never puts driver messages (SQL, values) into its own message", () => {
    const error = classifyDriverError(withCode("23505", { message: "duplicate key value (username)=(secret)" }));
    expect(error?.message).not.toContain("secret");
    expect(error?.cause).toBeInstanceOf(Error);
  });
});
