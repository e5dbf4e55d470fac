import { create } from "@bufbuild/protobuf";
import { PolicySchema, StringListSchema, type Policy } from "../../gen/gatehouse/v1/common_pb.js";
import { formatHostGlob, parseHostGlob } from "../domain/host-glob.js";
import { policyFields, type EffectivePolicy, type PolicyValues } from "../domain/policy.js";

/**
 * Conversions of a policy layer between the API's `Policy` message, the
 * domain's PolicyValues and the JSON stored in `jsonb` columns
 * (global_policy, room_policies, macro_policies, user_policies and
 * roles.default_policy).
 *
 * Stored form: PolicyValues as JSON, camelCase keys, lists as arrays,
 * unset fields absent, `overrideCeiling` nested (global only), e.g.
 * `{"timeoutMs":500,"allowedHosts":["api.example.com"]}`. The reader is
 * lenient so that other writers of `roles.default_policy` fit too: it also
 * takes snake_case keys and lists as `{"values": [...]}` (the proto JSON of
 * StringList), and drops values of the wrong type.
 */

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** policyValuesOfMessage reads a `Policy` message; an unset message is an empty layer. */
export function policyValuesOfMessage(message: Policy | undefined): PolicyValues {
  if (message === undefined) return {};
  const values: Mutable<PolicyValues> = {};
  const source = message as unknown as Record<string, unknown>;
  for (const field of policyFields) {
    const value = source[field.key];
    if (value === undefined) continue;
    (values as Record<string, unknown>)[field.key] = field.kind === "list" ? [...((value as { values: string[] }).values ?? [])] : value;
  }
  if (message.overrideCeiling !== undefined) values.overrideCeiling = policyValuesOfMessage(message.overrideCeiling);
  return values;
}

/** policyMessageOf writes a layer (or a merged policy) as a `Policy` message. */
export function policyMessageOf(values: PolicyValues | EffectivePolicy): Policy {
  const init: Record<string, unknown> = {};
  for (const field of policyFields) {
    const value = (values as PolicyValues)[field.key];
    if (value === undefined) continue;
    init[field.key] = field.kind === "list" ? create(StringListSchema, { values: [...(value as readonly string[])] }) : value;
  }
  const ceiling = (values as PolicyValues).overrideCeiling;
  if (ceiling !== undefined) init.overrideCeiling = policyMessageOf(ceiling);
  return create(PolicySchema, init);
}

/**
 * normalizePolicy answers a layer in canonical form: host globs lowercased
 * in their canonical spelling, list entries deduplicated (first kept).
 * Call it after validatePolicy: malformed host globs are kept as given.
 */
export function normalizePolicy(values: PolicyValues): PolicyValues {
  const out: Mutable<PolicyValues> = { ...values };
  for (const field of policyFields) {
    if (field.kind !== "list") continue;
    const list = values[field.key] as readonly string[] | undefined;
    if (list === undefined) continue;
    const canonical = list.map((item) => {
      if (field.items !== "host-glob") return item;
      const glob = parseHostGlob(item);
      return glob === undefined ? item : formatHostGlob(glob);
    });
    (out as Record<string, unknown>)[field.key] = [...new Set(canonical)];
  }
  if (values.overrideCeiling !== undefined) out.overrideCeiling = normalizePolicy(values.overrideCeiling);
  return out;
}

/** policyToJson answers the stored JSON form of a layer. */
export function policyToJson(values: PolicyValues): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const field of policyFields) {
    const value = values[field.key];
    if (value !== undefined) json[field.key] = field.kind === "list" ? [...(value as readonly string[])] : value;
  }
  if (values.overrideCeiling !== undefined) json.overrideCeiling = policyToJson(values.overrideCeiling);
  return json;
}

function readField(json: Record<string, unknown>, key: string, name: string): unknown {
  return Object.hasOwn(json, key) ? json[key] : Object.hasOwn(json, name) ? json[name] : undefined;
}

/**
 * policyFromJson reads a stored layer (see the module comment); null, a
 * non-object or a JSON string of one read as an empty layer.
 */
export function policyFromJson(stored: unknown, depth = 0): PolicyValues {
  let json = stored;
  if (typeof json === "string") {
    try {
      json = JSON.parse(json);
    } catch {
      return {};
    }
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) return {};
  const record = json as Record<string, unknown>;
  const values: Mutable<PolicyValues> = {};
  for (const field of policyFields) {
    let value = readField(record, field.key, field.name);
    if (value === undefined || value === null) continue;
    switch (field.kind) {
      case "number":
        if (typeof value === "string" && /^[0-9]+$/.test(value)) value = Number(value);
        if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffffffff) {
          (values as Record<string, unknown>)[field.key] = value;
        }
        break;
      case "boolean":
        if (typeof value === "boolean") (values as Record<string, unknown>)[field.key] = value;
        break;
      case "list": {
        if (!Array.isArray(value) && typeof value === "object") value = (value as { values?: unknown }).values ?? [];
        if (Array.isArray(value) && value.every((item) => typeof item === "string")) {
          (values as Record<string, unknown>)[field.key] = [...(value as string[])];
        }
      }
    }
  }
  const ceiling = readField(record, "overrideCeiling", "override_ceiling");
  if (depth === 0 && ceiling !== undefined && ceiling !== null) values.overrideCeiling = policyFromJson(ceiling, 1);
  return values;
}
