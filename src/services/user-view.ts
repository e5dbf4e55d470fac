import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { UserSchema, type User } from "../../gen/gatehouse/v1/users_pb.js";
import type { UserRecord } from "../store/users.js";

/** userMessage renders a user record as the API's User. */
export function userMessage(row: UserRecord): User {
  return create(UserSchema, {
    userId: row.id,
    tenantId: row.tenantId,
    username: row.username,
    level: row.level,
    roleIds: row.roleIds,
    roleNames: row.roleNames,
    disabled: row.disabled,
    createdAt: timestampFromDate(row.createdAt),
    updatedAt: timestampFromDate(row.updatedAt),
  });
}
