/**
 * Canonical JSON: one byte-exact serialization per value, so that a hash over it
 * can be recomputed from what the database gives back.
 */

/** JsonValue is a value that survives a JSON round trip unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * sanitizeText makes a string storable in Postgres `text`/`jsonb` unchanged:
 * NUL (refused by Postgres) and lone surrogates (replaced by the driver's UTF-8
 * encoder) become U+FFFD, so the stored value equals the hashed one.
 */
export function sanitizeText(value: string): string {
  return value.replace(/\u0000/g, "\uFFFD").replace(loneSurrogate, "\uFFFD");
}

/**
 * toJsonValue normalizes any value the way `JSON.stringify` would (toJSON, Dates
 * to ISO strings, undefined and functions dropped, non-finite numbers to null),
 * with every string sanitized. Answers null for undefined.
 */
export function toJsonValue(value: unknown): JsonValue {
  const text = JSON.stringify(value);
  if (text === undefined) {
    return null;
  }
  return sanitizeDeep(JSON.parse(text) as JsonValue);
}

function sanitizeDeep(value: JsonValue): JsonValue {
  if (typeof value === "string") {
    return sanitizeText(value);
  }
  if (Array.isArray(value)) {
    return value.map(sanitizeDeep);
  }
  if (value !== null && typeof value === "object") {
    const out: { [key: string]: JsonValue } = {};
    for (const [key, item] of Object.entries(value)) {
      out[sanitizeText(key)] = sanitizeDeep(item);
    }
    return out;
  }
  return value;
}

/**
 * canonicalJson serializes a JsonValue with object keys sorted (by UTF-16 code
 * units), no whitespace, and numbers and strings as `JSON.stringify` writes them.
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== "object") {
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(",")}]`;
  }
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] as JsonValue)}`).join(",")}}`;
}
