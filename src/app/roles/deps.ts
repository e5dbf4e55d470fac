import type { PolicyValues } from "../../domain/policy.js";
import type { RolesStore } from "../../store/roles.js";
import type { Tx } from "../../store/tx.js";
import type { UsersStore } from "../../store/users.js";
import type { SessionCaches } from "../users/deps.js";

/** RoleUseCaseDeps are what the role use cases need. */
export interface RoleUseCaseDeps {
  roles: RolesStore;
  /** users reads the caller's effective permissions (the grant rule). */
  users: Pick<UsersStore, "accessOf">;
  /** globalPolicy reads the global policy layer (with its override_ceiling) in `tx`. */
  globalPolicy(tx: Tx): Promise<PolicyValues>;
  sessionCaches: Pick<SessionCaches, "invalidateTenant">;
}
