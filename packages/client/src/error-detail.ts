import { ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema, type ErrorDetail } from "./gen/gatehouse/v1/common_pb.js";

/**
 * errorDetailOf answers the `gatehouse.v1.ErrorDetail` a failed call carries
 * (its `reason`, and `retryAfter`, `holder`, `field`, `permission`,
 * `violations`… where they apply), or undefined when the error has none (a
 * network failure, or an error from something other than Gatehouse). It takes
 * whatever a call threw.
 */
export function errorDetailOf(error: unknown): ErrorDetail | undefined {
  return ConnectError.from(error).findDetails(ErrorDetailSchema)[0];
}

/** reasonOf answers the ErrorDetail reason of a failed call (`PERMISSION_DENIED`, `LOCKED`, …), or "" without one. */
export function reasonOf(error: unknown): string {
  return errorDetailOf(error)?.reason ?? "";
}
