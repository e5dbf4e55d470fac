/**
 * The sandbox worker: a worker thread that loads one bounded QuickJS engine and runs the jobs the
 * pool sends it, one at a time, asking the main thread to serve host calls.
 */
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { createSandboxEngine } from "./engine.js";
import type { FromWorker, HostReply, ToWorker, WorkerOptions } from "./protocol.js";

const port = parentPort;
if (!port) throw new Error("sandbox worker: must run in a worker thread");
const options = workerData as WorkerOptions;
// On Linux a thread has its own nice value. By default the worker keeps the
// event loop's (0): runs give way to a busy loop through the event-loop
// pressure word instead, because a niced worker starves whenever other
// processes keep the cores busy. Best effort: not every platform allows it.
try {
  if (options.nice !== 0) setPriority(options.nice);
} catch {
  // ignore
}
const engine = await createSandboxEngine(options);

// One warm-up run before taking work, so that the first real run does not pay for V8 compiling the glue.
await engine.run(
  {
    runId: 0,
    code: `import { get } from "gatehouse:store";
import { log } from "gatehouse:log";
export default async function (input) { log("warm", input); return { value: await get("c", "id") }; }`,
    inputJson: "{}",
    ctxJson: "{}",
    limits: { timeoutMs: 5000, memoryLimitBytes: 8 * 1024 * 1024, maxStackBytes: 256 * 1024, maxOutputBytes: 4096, maxHostCalls: 1 },
    allowedImports: ["gatehouse:store", "gatehouse:log"],
  },
  { call: () => Promise.resolve({ ok: true, json: "null" }) },
);

const replies = new Map<number, (reply: HostReply) => void>();
let currentRunId = -1;
let nextCallId = 1;

const post = (message: FromWorker): void => port.postMessage(message);

port.on("message", (message: ToWorker) => {
  if (message.type === "hostReply") {
    if (message.runId !== currentRunId) return;
    const resolve = replies.get(message.callId);
    replies.delete(message.callId);
    resolve?.(message.reply);
    return;
  }
  const { job } = message;
  currentRunId = job.runId;
  void engine
    .run(job, {
      call(module, fn, argsJson) {
        const callId = nextCallId++;
        return new Promise<HostReply>((resolve) => {
          replies.set(callId, resolve);
          post({ type: "hostCall", runId: job.runId, callId, module, fn, argsJson });
        });
      },
    })
    .then((result) => {
      replies.clear();
      currentRunId = -1;
      post({ type: "done", runId: job.runId, result });
    });
});

post({ type: "ready", heapBytes: engine.heapBytes() });
