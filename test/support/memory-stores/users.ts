import { randomUUID } from "node:crypto";
import type { RoleRecord, RolesStore } from "../../../src/store/roles.js";
import type { SessionsStore } from "../../../src/store/sessions.js";
import type { UserGrants, UserRecord, UsersStore } from "../../../src/store/users.js";

/** MemoryUser is a user row of the in-memory directory. */
interface MemoryUser {
  id: string;
  tenantId: string;
  username: string;
  passwordHash: string;
  level: number;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** MemorySession is what the in-memory sessions store keeps of a session. */
interface MemorySession {
  id: string;
  userId: string;
  revokedReason: string | null;
}

/**
 * MemoryDirectory holds users, roles, grants and sessions of one tenant in
 * memory, behind the UsersStore, RolesStore and SessionsStore interfaces, for
 * use-case tests without a database (the transaction argument is ignored).
 */
export class MemoryDirectory {
  readonly tenantId = "00000000-0000-4000-8000-000000000101";
  readonly tenantName = "default";
  readonly userRows = new Map<string, MemoryUser>();
  readonly roleRows = new Map<string, RoleRecord>();
  readonly links: Array<{ userId: string; roleId: string }> = [];
  readonly sessionRows = new Map<string, MemorySession>();

  /** addUser puts a user in the directory (test setup). */
  addUser(user: { id?: string; username: string; level: number; disabled?: boolean; passwordHash?: string; roles?: string[] }): string {
    const id = user.id ?? randomUUID();
    const now = new Date();
    this.userRows.set(id, {
      id,
      tenantId: this.tenantId,
      username: user.username,
      passwordHash: user.passwordHash ?? "x",
      level: user.level,
      disabled: user.disabled ?? false,
      createdAt: now,
      updatedAt: now,
    });
    for (const roleId of user.roles ?? []) this.links.push({ userId: id, roleId });
    return id;
  }

  /** addRole puts a role in the directory (test setup). */
  addRole(role: { name: string; permissions: string[]; builtin?: boolean; defaultPolicy?: unknown }): string {
    const id = randomUUID();
    const now = new Date();
    this.roleRows.set(id, {
      id,
      tenantId: this.tenantId,
      name: role.name,
      description: "",
      permissions: [...role.permissions],
      defaultPolicy: role.defaultPolicy ?? null,
      builtin: role.builtin ?? false,
      createdAt: now,
      updatedAt: now,
    });
    return id;
  }

  /** addSession puts a live session of a user in the directory (test setup). */
  addSession(userId: string): string {
    const id = randomUUID();
    this.sessionRows.set(id, { id, userId, revokedReason: null });
    return id;
  }

  private grants(userId: string): UserGrants {
    const roles = this.links
      .filter((l) => l.userId === userId)
      .map((l) => this.roleRows.get(l.roleId))
      .filter((r): r is RoleRecord => r !== undefined)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { roleIds: roles.map((r) => r.id), roleNames: roles.map((r) => r.name), permissions: new Set(roles.flatMap((r) => r.permissions)) };
  }

  private record(user: MemoryUser): UserRecord {
    const { passwordHash: _secret, ...rest } = user;
    const grants = this.grants(user.id);
    return { ...rest, roleIds: grants.roleIds, roleNames: grants.roleNames };
  }

  readonly users: UsersStore = {
    get: async (_tx, id) => {
      const user = this.userRows.get(id);
      return user && this.record(user);
    },
    list: async (_tx, { limit, after }) =>
      [...this.userRows.values()]
        .filter((u) => after === undefined || u.username > after)
        .sort((a, b) => (a.username < b.username ? -1 : 1))
        .slice(0, limit)
        .map((u) => this.record(u)),
    credentialsByUsername: async (_tx, username) => {
      const user = [...this.userRows.values()].find((u) => u.username === username);
      return user && { id: user.id, passwordHash: user.passwordHash, disabled: user.disabled };
    },
    lockCredentials: async (_tx, id) => {
      const user = this.userRows.get(id);
      return user && { id: user.id, passwordHash: user.passwordHash, disabled: user.disabled };
    },
    lock: async (_tx, id) => {
      const user = this.userRows.get(id);
      return user && { id: user.id, username: user.username, level: user.level, disabled: user.disabled };
    },
    lockTarget: async (_tx, id) => {
      const user = this.userRows.get(id);
      return user && { id: user.id, username: user.username, level: user.level, tenantName: this.tenantName };
    },
    accessOf: async (_tx, ids) => {
      const found = ids.map((id) => this.userRows.get(id)).filter((u): u is MemoryUser => u !== undefined);
      return new Map(found.map((u) => [u.id, { userId: u.id, level: u.level, disabled: u.disabled, permissions: this.grants(u.id).permissions }]));
    },
    grantsOf: async (_tx, ids) => new Map(ids.map((id) => [id, this.grants(id)])),
    rolesByIds: async (_tx, ids) =>
      ids.map((id) => this.roleRows.get(id)).filter((r): r is RoleRecord => r !== undefined).map((r) => ({ id: r.id, name: r.name, permissions: [...r.permissions] })),
    roleIdsOf: async (_tx, userId) => this.links.filter((l) => l.userId === userId).map((l) => l.roleId),
    create: async (_tx, user) => this.addUser({ username: user.username, level: user.level, passwordHash: user.passwordHash }),
    update: async (_tx, id, change) => {
      const user = this.userRows.get(id);
      if (user) Object.assign(user, change, { updatedAt: new Date() });
    },
    touch: async (_tx, id) => {
      const user = this.userRows.get(id);
      if (user) user.updatedAt = new Date();
    },
    setPasswordHash: async (_tx, id, passwordHash) => {
      const user = this.userRows.get(id);
      if (user) Object.assign(user, { passwordHash, updatedAt: new Date() });
    },
    delete: async (_tx, id) => {
      this.userRows.delete(id);
      for (let i = this.links.length - 1; i >= 0; i--) if (this.links[i]!.userId === id) this.links.splice(i, 1);
    },
    grant: async (_tx, _tenantId, userId, roleIds) => {
      for (const roleId of roleIds) {
        if (!this.roleRows.has(roleId)) throw new Error("foreign key: no such role");
        this.links.push({ userId, roleId });
      }
    },
    revoke: async (_tx, userId, roleIds) => {
      for (let i = this.links.length - 1; i >= 0; i--) {
        const link = this.links[i]!;
        if (link.userId === userId && roleIds.includes(link.roleId)) this.links.splice(i, 1);
      }
    },
    findInTenantNamed: async (_tx, tenantName, username) => {
      if (tenantName !== this.tenantName) return undefined;
      const user = [...this.userRows.values()].find((u) => u.username === username);
      return user && { tenantId: this.tenantId, userId: user.id };
    },
  };

  readonly roles: RolesStore = {
    get: async (_tx, id) => {
      const role = this.roleRows.get(id);
      return role && { ...role, permissions: [...role.permissions] };
    },
    list: async (_tx, { limit, after }) =>
      [...this.roleRows.values()]
        .filter((r) => after === undefined || r.name > after)
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .slice(0, limit),
    create: async (_tx, row) => {
      if ([...this.roleRows.values()].some((r) => r.name === row.name)) throw new Error("unique: role name taken");
      const id = this.addRole({ name: row.name, permissions: row.permissions, defaultPolicy: row.defaultPolicy });
      Object.assign(this.roleRows.get(id)!, { description: row.description });
      return { ...this.roleRows.get(id)! };
    },
    delete: async (_tx, id) => {
      this.roleRows.delete(id);
      for (let i = this.links.length - 1; i >= 0; i--) if (this.links[i]!.roleId === id) this.links.splice(i, 1);
    },
    setPermissions: async (_tx, id, permissions) => {
      const role = this.roleRows.get(id)!;
      Object.assign(role, { permissions: [...permissions], updatedAt: new Date() });
      return { ...role };
    },
    setDefaultPolicy: async (_tx, id, policy) => {
      const role = this.roleRows.get(id)!;
      Object.assign(role, { defaultPolicy: policy, updatedAt: new Date() });
      return { ...role };
    },
  };

  readonly sessions: Pick<SessionsStore, "revoke" | "revokeUser"> = {
    revoke: async (_tx, sessionId, reason) => {
      const session = this.sessionRows.get(sessionId);
      if (!session || session.revokedReason !== null) return false;
      session.revokedReason = reason;
      return true;
    },
    revokeUser: async (_tx, userId, reason, except) => {
      let n = 0;
      for (const session of this.sessionRows.values()) {
        if (session.userId === userId && session.id !== except && session.revokedReason === null) {
          session.revokedReason = reason;
          n++;
        }
      }
      return n;
    },
  };
}

/** RecordingSessionCaches records the cache invalidations a use case asks for. */
export class RecordingSessionCaches {
  readonly invalidated: string[] = [];
  async invalidateUser(tenantId: string, userId: string): Promise<void> {
    this.invalidated.push(`user:${tenantId}:${userId}`);
  }
  async invalidateTenant(tenantId: string): Promise<void> {
    this.invalidated.push(`tenant:${tenantId}`);
  }
  async invalidateSession(tenantId: string, sessionId: string): Promise<void> {
    this.invalidated.push(`session:${tenantId}:${sessionId}`);
  }
}
