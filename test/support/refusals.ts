import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";
import { DomainError } from "../../src/domain/errors.js";

/** codeOf awaits an RPC and answers "ok" or the code it failed with. */
export async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

/** domainRefusal awaits a call that must be refused with a DomainError and answers it. */
export async function domainRefusal(call: Promise<unknown>): Promise<DomainError> {
  try {
    await call;
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return err as DomainError;
  }
  throw new Error("expected a refusal");
}

/** domainRefusalOf runs fn, which must throw a DomainError, and answers it. */
export function domainRefusalOf(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return err as DomainError;
  }
  throw new Error("expected a refusal");
}
