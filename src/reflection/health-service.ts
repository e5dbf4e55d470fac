import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";

/**
 * HealthStatusSource tells the health service how the server and its
 * services are doing. The service name "" means the whole server.
 */
export interface HealthStatusSource {
  /**
   * status returns the serving status of `service`, or undefined when the
   * service is unknown (Check then answers NOT_FOUND, Watch sends
   * SERVICE_UNKNOWN).
   */
  status(service: string): HealthCheckResponse_ServingStatus | undefined;
  /**
   * subscribe calls `listener` after any status may have changed and returns
   * the function that unsubscribes it. Spurious calls are harmless: Watch
   * only sends a status that differs from the last one it sent.
   */
  subscribe(listener: () => void): () => void;
}

/**
 * createHealthImpl implements `grpc.health.v1.Health` over a status source.
 *
 * Check answers the current status, or fails with NOT_FOUND for an unknown
 * service. Watch sends the current status at once (SERVICE_UNKNOWN for an
 * unknown service, without ending the call), then each change, until the
 * client goes away.
 */
export function createHealthImpl(source: HealthStatusSource): ServiceImpl<typeof Health> {
  return {
    check(request) {
      const status = source.status(request.service);
      if (status === undefined) {
        throw new ConnectError(`unknown service "${request.service}"`, Code.NotFound);
      }
      return { status };
    },
    async *watch(request, ctx) {
      const changes = watchChanges(source, ctx.signal);
      try {
        let last: HealthCheckResponse_ServingStatus | undefined;
        do {
          const status = source.status(request.service) ?? HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN;
          if (status !== last) {
            last = status;
            yield { status };
          }
        } while (await changes.next());
      } finally {
        changes.close();
      }
    },
  };
}

/**
 * ChangeFeed wakes a watcher after the source signalled a change.
 */
interface ChangeFeed {
  /** next resolves true after a change (at once if one came since the last call), false once aborted. */
  next(): Promise<boolean>;
  /** close unsubscribes from the source. */
  close(): void;
}

/**
 * watchChanges subscribes to `source` until `signal` aborts or close is
 * called. Changes that arrive while nobody waits are coalesced into one.
 */
function watchChanges(source: HealthStatusSource, signal: AbortSignal): ChangeFeed {
  let pending = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    pending = true;
    wake?.();
  };
  const unsubscribe = source.subscribe(notify);
  signal.addEventListener("abort", notify);
  return {
    async next() {
      if (!pending && !signal.aborted) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
      pending = false;
      return !signal.aborted;
    },
    close() {
      signal.removeEventListener("abort", notify);
      unsubscribe();
    },
  };
}
