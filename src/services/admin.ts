import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { AdminService, RotateSigningKeyResponseSchema } from "../../gen/gatehouse/v1/admin_pb.js";
import { rotateSigningKey, type RotateSigningKeyDeps } from "../app/admin/rotate-signing-key.js";
import { answer, callOf } from "./call.js";

/** AdminServiceDeps are what AdminService uses. */
export type AdminServiceDeps = RotateSigningKeyDeps;

/**
 * createAdminService implements AdminService: platform operations, SUPERGOD
 * only by the access option, each recorded in the platform tenant's chain
 * by the unit of work.
 */
export function createAdminService(deps: AdminServiceDeps): ServiceImpl<typeof AdminService> {
  return {
    async rotateSigningKey(_req, ctx) {
      const rotated = answer(ctx, await rotateSigningKey(deps, callOf(ctx)));
      return create(RotateSigningKeyResponseSchema, {
        kid: rotated.kid,
        previousKid: rotated.previousKid,
        previousVerifiesUntil: timestampFromDate(rotated.previousVerifiesUntil),
      });
    },
  };
}
