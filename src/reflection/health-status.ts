import { HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import type { HealthStatusSource } from "./health-service.js";

/**
 * ServingState says whether the whole server can serve and tells when that
 * changes. The HealthMonitor of src/health fits it as it is.
 */
export interface ServingState {
  /** serving is true while the server can serve. */
  readonly serving: boolean;
  /** subscribe calls `listener` when `serving` may have changed; returns the unsubscriber. */
  subscribe(listener: () => void): () => void;
}

/**
 * createHealthStatusSource adapts a ServingState to the health service:
 * the whole server ("") and each of `services` (fully-qualified names such
 * as `gatehouse.v1.UsersService`) are SERVING or NOT_SERVING together; any
 * other name is unknown.
 */
export function createHealthStatusSource(state: ServingState, services: Iterable<string>): HealthStatusSource {
  const known = new Set(["", ...services]);
  return {
    status(service) {
      if (!known.has(service)) {
        return undefined;
      }
      return state.serving ? HealthCheckResponse_ServingStatus.SERVING : HealthCheckResponse_ServingStatus.NOT_SERVING;
    },
    subscribe(listener) {
      return state.subscribe(listener);
    },
  };
}
