import { getOption, hasOption, type DescMethod } from "@bufbuild/protobuf";
import { access, type AccessRule } from "../../gen/gatehouse/v1/access_pb.js";

const cache = new WeakMap<DescMethod, AccessRule | null>();

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
