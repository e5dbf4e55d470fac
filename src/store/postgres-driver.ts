import { AbstractSqlDriver, PostgreSqlConnection, type Configuration, type Knex } from "@mikro-orm/postgresql";
import { TextSafePostgreSqlPlatform } from "./text-platform.js";

/** Postgres type OIDs whose raw-query parsing differs between pg and PGlite. */
const INT8_OID = 20;
const TIMESTAMPTZ_OID = 1184;

type TypeParser = (value: string) => unknown;
interface TypeSource {
  getTypeParser(oid: number, format?: string): TypeParser;
}

const pgTimestamptz = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?$/;

/**
 * parseTimestamptz reads Postgres' text form of a timestamptz
 * (`2026-01-02 03:04:05.678+00`, DateStyle ISO) into a Date.
 */
export function parseTimestamptz(value: string): Date | string {
  if (value === "infinity" || value === "-infinity") return value;
  const m = pgTimestamptz.exec(value);
  if (!m) return new Date(value);
  const [, y, mo, d, h, mi, s, frac = "", sign, oh, om = "00", os = "00"] = m;
  const ms = frac ? Math.trunc(Number(`0${frac}`) * 1000) : 0;
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const offsetMs = ((Number(oh) * 60 + Number(om)) * 60 + Number(os)) * 1000;
  const date = new Date(sign === "+" ? utc - offsetMs : utc + offsetMs);
  if (Number(y) < 100) date.setUTCFullYear(Number(y)); // Date.UTC maps 0-99 to 1900-1999
  return date;
}

/** parseInt8 reads a bigint as a number when it fits exactly, else keeps the string. */
export function parseInt8(value: string): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

/**
 * UniformPostgreSqlConnection makes raw queries (`em.execute`) answer the same
 * JavaScript types on PostgreSQL as on PGlite: timestamptz as Date (MikroORM's
 * pg setup gives strings) and bigint as number (pg gives strings). Entities are
 * unaffected: MikroORM hydrates Dates and numbers either way.
 */
class UniformPostgreSqlConnection extends PostgreSqlConnection {
  override getConnectionOptions(): Knex.PgConnectionConfig {
    const options = super.getConnectionOptions();
    const base = options.types as TypeSource;
    const types: TypeSource = {
      getTypeParser(oid, format) {
        if (format !== "binary") {
          if (oid === TIMESTAMPTZ_OID) return parseTimestamptz;
          if (oid === INT8_OID) return parseInt8;
        }
        return base.getTypeParser(oid, format);
      },
    };
    options.types = types as Knex.PgConnectionConfig["types"];
    return options;
  }
}

/**
 * ServerPostgreSqlDriver is MikroORM's PostgreSqlDriver with the uniform raw
 * result types above.
 */
export class ServerPostgreSqlDriver extends AbstractSqlDriver<PostgreSqlConnection> {
  constructor(config: Configuration) {
    super(config, new TextSafePostgreSqlPlatform(), UniformPostgreSqlConnection, ["knex", "pg"]);
  }
}
