import { create } from "@bufbuild/protobuf";
import { GetServerInfoResponseSchema, type GetServerInfoResponse } from "../../gen/gatehouse/v1/auth_pb.js";
import { maxPasswordLength, minPasswordLength } from "../auth/passwords.js";
import type { Config } from "../config.js";
import { maxPolicyListLength, maxPolicyNumber, positiveFields } from "../domain/policy-check.js";
import { defaultPolicy, hostModules, policyFieldValue, policyFields } from "../domain/policy.js";
import { defaultTtlSeconds, maxTtlSeconds } from "../domain/lock-lease.js";
import { defaultPageSize, maxPageSize } from "./support.js";

/**
 * serverInfo answers GetServerInfo from the constants the handlers enforce
 * (lock lease range, policy field bounds of validatePolicy, the password
 * policy, page sizes), so a form and the server cannot disagree.
 */
export function serverInfo(config: Pick<Config, "lockMinTtlSeconds">): GetServerInfoResponse {
  return create(GetServerInfoResponseSchema, {
    lockLease: { minTtlSeconds: config.lockMinTtlSeconds, maxTtlSeconds, defaultTtlSeconds },
    policyFields: policyFields
      .filter((field) => field.kind === "number")
      .map((field) => ({
        field: field.name,
        min: positiveFields.has(field.name) ? 1n : 0n,
        max: BigInt(maxPolicyNumber),
        defaultValue: BigInt(policyFieldValue(defaultPolicy, field) as number),
      })),
    policyListMaxItems: maxPolicyListLength,
    policyImports: [...hostModules],
    password: { minLength: minPasswordLength, maxLength: maxPasswordLength },
    pageSizeMax: maxPageSize,
    pageSizeDefault: defaultPageSize,
  });
}
