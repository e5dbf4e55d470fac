import type { SessionManager } from "../../auth/sessions.js";
import type { SessionsStore } from "../../store/sessions.js";
import type { UsersStore } from "../../store/users.js";

/** SessionCaches drops cached session state on every replica once a change committed. */
export type SessionCaches = Pick<SessionManager, "invalidateUser" | "invalidateTenant" | "invalidateSession">;

/** UserUseCaseDeps are what the user management use cases need. */
export interface UserUseCaseDeps {
  users: UsersStore;
  sessions: Pick<SessionsStore, "revokeUser" | "revoke">;
  sessionCaches: SessionCaches;
}
