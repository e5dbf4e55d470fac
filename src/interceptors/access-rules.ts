import { getOption, hasOption, ScalarType, type DescField, type DescMethod } from "@bufbuild/protobuf";
import { access, type AccessRule } from "../../gen/gatehouse/v1/access_pb.js";

const cache = new WeakMap<DescMethod, AccessRule | null>();
const roomFields = new WeakMap<DescMethod, DescField | null>();

/**
 * accessRuleOf reads a method's `(gatehouse.v1.access)` option, cached per
 * method descriptor (reading options per call costs measurable CPU).
 * Undefined means the method has no rule and must be refused.
 */
export function accessRuleOf(method: DescMethod): AccessRule | undefined {
  let rule = cache.get(method);
  if (rule === undefined) {
    rule = hasOption(method, access) ? getOption(method, access) : null;
    cache.set(method, rule);
  }
  return rule ?? undefined;
}

/**
 * roomFieldOf answers the request field named by the method's access rule
 * `room_field` (a string field of the input message), cached per method;
 * undefined when the method acts on no room. It throws when room_field
 * names no string field of the input: a broken contract must not pass as
 * "no room".
 */
export function roomFieldOf(method: DescMethod): DescField | undefined {
  let field = roomFields.get(method);
  if (field === undefined) {
    const name = accessRuleOf(method)?.roomField ?? "";
    if (name === "") field = null;
    else {
      const found = method.input.fields.find((f) => f.name === name);
      if (found === undefined || found.fieldKind !== "scalar" || found.scalar !== ScalarType.STRING) {
        throw new Error(`${method.parent.typeName}.${method.name}: room_field ${JSON.stringify(name)} is no string field of ${method.input.typeName}`);
      }
      field = found;
    }
    roomFields.set(method, field);
  }
  return field ?? undefined;
}

/**
 * roomIdOf answers the room a request acts on: the value of the method's
 * room_field, undefined when the method has none, when the field is unset
 * or empty, or for a streaming request (no single message).
 */
export function roomIdOf(method: DescMethod, message: unknown): string | undefined {
  const field = roomFieldOf(method);
  if (field === undefined || message === null || typeof message !== "object") return undefined;
  const value = (message as Record<string, unknown>)[field.localName];
  return typeof value === "string" && value !== "" ? value : undefined;
}
