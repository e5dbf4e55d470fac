import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { createHealthImpl } from "../../src/reflection/health-service.js";
import type { HealthStatusSource } from "../../src/reflection/health-service.js";
import { createHealthStatusSource } from "../../src/reflection/health-status.js";
import { clientConstructor, loadGrpcPackage, startServer } from "./harness.js";
import type { TestServer } from "./harness.js";

/** FakeStatusSource is a hand-driven HealthStatusSource that counts its subscribers. */
interface FakeStatusSource extends HealthStatusSource {
  set(service: string, status: ServingStatus | undefined): void;
  /** poke notifies listeners without changing anything. */
  poke(): void;
  readonly subscribers: number;
}

function createFakeStatusSource(initial: Record<string, ServingStatus>): FakeStatusSource {
  const statuses = new Map(Object.entries(initial));
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((listener) => listener());
  return {
    status: (service) => statuses.get(service),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(service, status) {
      if (status === undefined) {
        statuses.delete(service);
      } else {
        statuses.set(service, status);
      }
      notify();
    },
    poke: notify,
    get subscribers() {
      return listeners.size;
    },
  };
}

interface HealthClient extends grpc.Client {
  check(request: { service: string }, callback: (err: grpc.ServiceError | null, value?: { status: string }) => void): void;
  watch(request: { service: string }): grpc.ClientReadableStream<{ status: string }>;
}

const PROBE = "gatehouse.test.v1.ProbeService";
const NOT_FOUND = 5;

let server: TestServer;
let source: FakeStatusSource;
let client: HealthClient;

beforeAll(async () => {
  source = createFakeStatusSource({ "": ServingStatus.SERVING, [PROBE]: ServingStatus.NOT_SERVING });
  server = await startServer((router) => {
    router.service(Health, createHealthImpl(source));
  });
  const Client = clientConstructor(loadGrpcPackage(["grpc/health/v1/health.proto"]), "grpc.health.v1.Health");
  client = new Client(server.address, grpc.credentials.createInsecure()) as unknown as HealthClient;
});

afterAll(async () => {
  client.close();
  await server.close();
});

function check(service: string): Promise<string> {
  return new Promise((resolve, reject) =>
    client.check({ service }, (err, value) => (err ? reject(err) : resolve(value!.status))),
  );
}

/** openWatch starts a Watch and returns a function that awaits each next status. */
function openWatch(service: string) {
  const call = client.watch({ service });
  const received: string[] = [];
  const waiters: ((status: string) => void)[] = [];
  call.on("data", ({ status }: { status: string }) => {
    const waiter = waiters.shift();
    if (waiter) {
      waiter(status);
    } else {
      received.push(status);
    }
  });
  call.on("error", () => {}); // cancel() ends the call with CANCELLED
  return {
    next: () =>
      received.length > 0
        ? Promise.resolve(received.shift()!)
        : new Promise<string>((resolve) => waiters.push(resolve)),
    cancel: () => call.cancel(),
    received,
  };
}

describe("grpc.health.v1.Health/Check", () => {
  it("answers SERVING for the whole server", async () => {
    expect(await check("")).toBe("SERVING");
  });

  it("answers NOT_SERVING for a service that is down", async () => {
    expect(await check(PROBE)).toBe("NOT_SERVING");
  });

  it("fails with NOT_FOUND for an unknown service", async () => {
    await expect(check("no.such.Service")).rejects.toMatchObject({ code: NOT_FOUND });
  });
});

describe("grpc.health.v1.Health/Watch", () => {
  it("sends the current status, then each change, and unsubscribes when the client leaves", async () => {
    const subscribersBefore = source.subscribers;
    source.set("gatehouse.test.v1.Watched", ServingStatus.SERVING);
    const watch = openWatch("gatehouse.test.v1.Watched");
    expect(await watch.next()).toBe("SERVING");
    source.poke(); // a notification without a change sends nothing
    source.set("gatehouse.test.v1.Watched", ServingStatus.NOT_SERVING);
    expect(await watch.next()).toBe("NOT_SERVING");
    expect(watch.received).toEqual([]);
    watch.cancel();
    await vi.waitFor(() => expect(source.subscribers).toBe(subscribersBefore));
  });

  it("sends SERVICE_UNKNOWN for an unknown service without ending, then its status once known", async () => {
    const watch = openWatch("gatehouse.test.v1.Later");
    expect(await watch.next()).toBe("SERVICE_UNKNOWN");
    source.set("gatehouse.test.v1.Later", ServingStatus.SERVING);
    expect(await watch.next()).toBe("SERVING");
    watch.cancel();
  });

  it("sends the whole server's status at once", async () => {
    const watch = openWatch("");
    expect(await watch.next()).toBe("SERVING");
    watch.cancel();
  });
});

describe("createHealthStatusSource", () => {
  it("gives the server and the named services the serving state, and knows no other service", () => {
    const listeners = new Set<() => void>();
    const state = {
      serving: true,
      subscribe(listener: () => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    const health = createHealthStatusSource(state, [PROBE]);
    const listener = vi.fn();
    const unsubscribe = health.subscribe(listener);
    expect([health.status(""), health.status(PROBE)]).toEqual([ServingStatus.SERVING, ServingStatus.SERVING]);
    expect(health.status("no.such.Service")).toBeUndefined();
    state.serving = false;
    listeners.forEach((l) => l());
    expect(listener).toHaveBeenCalledTimes(1);
    expect([health.status(""), health.status(PROBE)]).toEqual([ServingStatus.NOT_SERVING, ServingStatus.NOT_SERVING]);
    unsubscribe();
    expect(listeners.size).toBe(0);
  });
});
