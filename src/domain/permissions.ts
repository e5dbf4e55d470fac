/**
 * permissionCatalog is the registry of permission keys (`module.capability`).
 * Keys are defined here, in code, and nowhere else: roles may only hold keys
 * of this catalog, and an unknown key never grants anything.
 */
export const permissionCatalog: Readonly<Record<string, string>> = Object.freeze({
  "tenants.manage": "Create and list tenants (platform operators)",
  "users.read": "Read users of the tenant",
  "users.write": "Create, update, delete users and set their roles",
  "roles.read": "Read roles and the permission catalog",
  "roles.write": "Create and delete roles, change their permissions and default policies",
  "rooms.read": "Read rooms and their members",
  "rooms.write": "Create and delete rooms, manage members and room tokens",
  "policies.read": "Read global, room, macro, user and effective policies",
  "policies.write": "Change room policies and user overrides",
  "policies.global_write": "Change the platform-wide global policy",
  "rules.read": "Read runtime rules and dry-run them",
  "rules.write": "Create, update and delete runtime rules",
  "macros.read": "Read macro code and validate it",
  "macros.write": "Create, update and delete macros",
  "macros.run": "Run macros",
  "repos.read": "Read macro repositories",
  "repos.write": "Create, change and delete macro repositories",
  "repos.sync": "Sync macro repositories",
  "locks.read": "Read editing locks",
  "locks.write": "Acquire, refresh and release editing locks",
  "locks.break": "Break another user's editing lock",
  "audit.read": "Read and verify the audit log",
});

const keyShape = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;

/** PermissionKeyProblem says why a key was refused. */
export type PermissionKeyProblem = "malformed" | "unknown";

/** checkPermissionKey answers undefined for a catalog key, else the problem. */
export function checkPermissionKey(key: string): PermissionKeyProblem | undefined {
  if (!keyShape.test(key)) return "malformed";
  if (!Object.hasOwn(permissionCatalog, key)) return "unknown";
  return undefined;
}

const viewer = ["rooms.read", "policies.read", "locks.read"];
const editor = [...viewer, "macros.read", "macros.write", "macros.run", "repos.read", "repos.write", "repos.sync", "locks.write", "rules.read"];
const admin = [
  ...editor,
  "users.read", "users.write", "roles.read", "roles.write", "rooms.write", "policies.write", "rules.write", "locks.break", "audit.read",
];

/** builtInRoles are the roles every tenant gets at creation; they cannot be deleted. */
export const builtInRoles: ReadonlyArray<{ name: string; description: string; permissions: readonly string[] }> = [
  { name: "viewer", description: "Reads rooms, policies and locks", permissions: viewer },
  { name: "editor", description: "Edits and runs macros and repos", permissions: editor },
  { name: "admin", description: "Administers the tenant", permissions: admin },
  { name: "superuser", description: "Holds every permission", permissions: Object.keys(permissionCatalog) },
];
