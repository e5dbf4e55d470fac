import type { SessionCaches } from "../users/deps.js";
import type { SessionsStore } from "../../store/sessions.js";
import { outcome, type Call, type Outcome } from "../call.js";

/** logout ends the caller's session; every replica drops it once the call committed. */
export async function logout(deps: { sessions: Pick<SessionsStore, "revoke">; sessionCaches: Pick<SessionCaches, "invalidateSession"> }, call: Call): Promise<Outcome<void>> {
  const { tenantId, sessionId } = call.principal;
  await call.inTx((tx) => deps.sessions.revoke(tx, sessionId, "logout"));
  call.afterCommit(() => deps.sessionCaches.invalidateSession(tenantId, sessionId));
  return outcome(undefined, { resource: `session:${sessionId}` });
}
