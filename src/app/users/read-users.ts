import { notFound } from "../../domain/errors.js";
import type { UserRecord, UsersStore } from "../../store/users.js";
import type { Call } from "../call.js";

/** findUser answers a user of the caller's tenant with its roles, or undefined. */
export function findUser(deps: { users: Pick<UsersStore, "get"> }, call: Call, input: { userId: string }): Promise<UserRecord | undefined> {
  const id = input.userId.toLowerCase();
  return call.inTx((tx) => deps.users.get(tx, id));
}

/** getUser answers a user of the caller's tenant with its roles (NOT_FOUND when missing). */
export async function getUser(deps: { users: Pick<UsersStore, "get"> }, call: Call, input: { userId: string }): Promise<UserRecord> {
  const user = await findUser(deps, call, input);
  if (!user) throw notFound("user");
  return user;
}

/** UserPage is a page of users and whether more follow. */
export interface UserPage {
  users: UserRecord[];
  /** nextAfter is the cursor of the next page (the last username), undefined at the end. */
  nextAfter: string | undefined;
}

/** listUsers answers up to `limit` users by username after `after`. */
export async function listUsers(deps: { users: Pick<UsersStore, "list"> }, call: Call, input: { limit: number; after: string | undefined }): Promise<UserPage> {
  const rows = await call.inTx((tx) => deps.users.list(tx, { limit: input.limit + 1, after: input.after }));
  const page = rows.slice(0, input.limit);
  return { users: page, nextAfter: rows.length > input.limit ? page[page.length - 1]!.username : undefined };
}
