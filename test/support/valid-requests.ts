import { randomUUID } from "node:crypto";
import type { DescField, DescMessage } from "@bufbuild/protobuf";

/** isIdField says whether a string field holds ids (`*_id`, `role_ids`). */
export const isIdField = (f: DescField): boolean => f.name.endsWith("_id") || f.name.endsWith("_ids");

/**
 * validRequest builds a request init that passes the message's `buf.validate`
 * rules (ids are fresh uuids, enums their first value, lists one valid item;
 * `optional` fields stay unset), so a call reaches authentication and the
 * handler.
 */
export function validRequest(schema: DescMessage): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const f of schema.fields) {
    if (f.proto.proto3Optional) continue;
    if (f.fieldKind === "scalar" && isIdField(f)) init[f.localName] = randomUUID();
    else if (f.fieldKind === "list" && f.listKind === "scalar" && isIdField(f)) init[f.localName] = [randomUUID()];
    else if (f.fieldKind === "enum") init[f.localName] = 1;
    else if (f.fieldKind === "list" && f.listKind === "message") init[f.localName] = [validRequest(f.message)];
    else if (f.fieldKind === "scalar" && f.name === "name") init[f.localName] = "n";
    else if (f.fieldKind === "scalar" && f.name === "code") init[f.localName] = "export default () => 1;";
  }
  return init;
}
