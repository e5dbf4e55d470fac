import { PostgreSqlPlatform } from "@mikro-orm/postgresql";

/**
 * TextSafePostgreSqlPlatform is MikroORM's PostgreSQL platform refusing text
 * with a NUL character (U+0000) before it reaches the database. PostgreSQL
 * text cannot hold NUL, and MikroORM inlines parameters into the query text,
 * where a NUL truncates the wire message: the server answers "invalid
 * message format" (SQLSTATE 08P01, a connection-class error) and the call
 * would look like an outage (UNAVAILABLE) instead of the bad input it is.
 * The error carries SQLSTATE 22021 (character_not_in_repertoire), as the
 * server would answer for a bound parameter, so store/errors.ts classifies it
 * as invalid data (INVALID_ARGUMENT) through MikroORM's exception wrapping.
 */
export class TextSafePostgreSqlPlatform extends PostgreSqlPlatform {
  override escape(value: unknown): string {
    if (typeof value === "string" && value.includes("\u0000")) {
      throw Object.assign(new Error("text must not contain NUL (U+0000) characters"), { code: "22021" });
    }
    return super.escape(value);
  }
}
