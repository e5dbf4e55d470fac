import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { createPacer, watchEventLoopPressure, type EventLoopPressure } from "../../src/sandbox/event-loop-pressure.js";
import { spinEventLoop } from "./helpers.js";

/** spin keeps this thread's event loop busy for `ms`. */
function spin(ms: number): Promise<void> {
  const end = performance.now() + ms;
  return spinEventLoop(() => performance.now() >= end);
}

const watches: EventLoopPressure[] = [];
afterEach(() => {
  for (const watch of watches.splice(0)) watch.close();
});

describe("event-loop pressure: the main thread's side", () => {
  it("says busy while the loop runs code, and calm once it waits again", async () => {
    const watch = watchEventLoopPressure({ intervalMs: 5 });
    watches.push(watch);
    watch.hold();
    const word = new Int32Array(watch.buffer);
    await sleep(30);
    expect(watch.busy()).toBe(false);
    await spin(60);
    expect(watch.busy()).toBe(true);
    expect(Atomics.load(word, 0)).toBe(1);
    await sleep(40);
    expect(watch.busy()).toBe(false);
    expect(Atomics.load(word, 0)).toBe(0);
  });

  it("samples only while held, and says calm when the last hold ends", async () => {
    const watch = watchEventLoopPressure({ intervalMs: 5 });
    watches.push(watch);
    await spin(40);
    expect(watch.busy()).toBe(false);
    const first = watch.hold();
    const second = watch.hold();
    await spin(40);
    expect(watch.busy()).toBe(true);
    first();
    first();
    await spin(40);
    expect(watch.busy()).toBe(true);
    second();
    expect(watch.busy()).toBe(false);
    await spin(40);
    expect(watch.busy()).toBe(false);
  });

  it("says calm when closed, whatever it last saw", async () => {
    const watch = watchEventLoopPressure({ intervalMs: 5 });
    watch.hold();
    await spin(40);
    expect(watch.busy()).toBe(true);
    watch.close();
    expect(watch.busy()).toBe(false);
  });
});

describe("event-loop pressure: a worker's pacer", () => {
  const busyWord = () => {
    const buffer = new SharedArrayBuffer(4);
    Atomics.store(new Int32Array(buffer), 0, 1);
    return buffer;
  };
  const timed = (fn: () => void) => {
    const started = performance.now();
    fn();
    return performance.now() - started;
  };

  it("pauses a run that has gone past its free stretch while the loop is busy", () => {
    const pace = createPacer(busyWord(), { freeMs: 10, pauseMs: 20 });
    expect(timed(() => pace(Date.now() - 50))).toBeGreaterThanOrEqual(19);
  });

  it("never pauses a run within its free stretch, a calm loop, or without a shared word", () => {
    const calm = new SharedArrayBuffer(4);
    const never = [
      () => createPacer(busyWord(), { freeMs: 10_000, pauseMs: 200 })(Date.now()),
      () => createPacer(calm, { freeMs: 0, pauseMs: 200 })(Date.now() - 50),
      () => createPacer(undefined, { freeMs: 0, pauseMs: 200 })(Date.now() - 50),
    ];
    for (const pace of never) expect(timed(pace)).toBeLessThan(100);
  });
});
