import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { EntityManager } from "@mikro-orm/postgresql";
import { UserSchema, type User } from "../../gen/gatehouse/v1/users_pb.js";

/** UserRow is a user as read by userRows. */
export interface UserRow {
  id: string;
  tenant_id: string;
  username: string;
  level: number;
  disabled: boolean;
  created_at: Date;
  updated_at: Date;
  role_ids: string[];
  role_names: string[];
}

const select = `
select u.id, u.tenant_id, u.username, u.level, u.disabled, u.created_at, u.updated_at,
       coalesce(array_agg(r.id order by r.name) filter (where r.id is not null), '{}') as role_ids,
       coalesce(array_agg(r.name order by r.name) filter (where r.id is not null), '{}') as role_names
  from users u left join user_roles ur on ur.user_id = u.id left join roles r on r.id = ur.role_id`;

/** userRows reads users with their roles; `where` uses `u.` columns and `?` parameters. */
export async function userRows(em: EntityManager, where: string, params: unknown[], tail = ""): Promise<UserRow[]> {
  return (await em.execute(`${select} where ${where} group by u.id ${tail}`, params)) as UserRow[];
}

/** userMessage renders a user row as the API's User. */
export function userMessage(row: UserRow): User {
  return create(UserSchema, {
    userId: row.id,
    tenantId: row.tenant_id,
    username: row.username,
    level: row.level,
    roleIds: row.role_ids,
    roleNames: row.role_names,
    disabled: row.disabled,
    createdAt: timestampFromDate(new Date(row.created_at)),
    updatedAt: timestampFromDate(new Date(row.updated_at)),
  });
}
