import type { AuditFacts } from "./call.js";

/**
 * AuditedFailure is a use case's refusal or failure together with the audit
 * facts its call's record should still carry (what it was about to touch,
 * how far a sync got, how long a cancelled run ran). The services layer
 * hands the facts to the record and answers `error` itself.
 */
export class AuditedFailure extends Error {
  constructor(
    readonly error: unknown,
    readonly audit: AuditFacts,
  ) {
    super(error instanceof Error ? error.message : String(error));
    this.name = "AuditedFailure";
  }
}

/**
 * failingWith runs `work`; if it throws, the error leaves with `audit` (the
 * facts known before the work began), unless it already carries its own.
 */
export async function failingWith<T>(audit: AuditFacts, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof AuditedFailure) throw err;
    throw new AuditedFailure(err, audit);
  }
}
