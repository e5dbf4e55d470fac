import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker, type ResourceLimits } from "node:worker_threads";
import type { WorkerOptions } from "./protocol.js";

/**
 * WORKER_RESOURCE_LIMITS bound the worker's own V8 heap. It holds no more than one run's strings
 * (logs and output, at most 16 MiB; host-call arguments waiting, at most 16 MiB); QuickJS's heap
 * is WebAssembly memory, bounded separately.
 */
export const WORKER_RESOURCE_LIMITS: ResourceLimits = {
  maxOldGenerationSizeMb: 96,
  maxYoungGenerationSizeMb: 16,
  stackSizeMb: 4,
};

/**
 * startWorkerThread starts a sandbox worker thread. From TypeScript sources (tsx, vitest) the
 * thread registers tsx's loader before importing worker.ts (Node 20 does not pass `--import` on
 * to workers, and tsx in the worker costs ~300 ms of start-up); from compiled JavaScript it
 * starts worker.js directly. The thread never inherits the parent's exec arguments.
 */
export function startWorkerThread(workerData: WorkerOptions, resourceLimits: ResourceLimits = WORKER_RESOURCE_LIMITS): Worker {
  const options = { workerData, execArgv: [], resourceLimits };
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./worker.js", import.meta.url), options);
  const tsx = pathToFileURL(tsxEsmApi()).href;
  const entry = new URL("./worker.ts", import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** tsxEsmApi locates the ESM build of `tsx/esm/api` (its CommonJS build fails to load in a worker). */
function tsxEsmApi(): string {
  const commonJs = createRequire(import.meta.url).resolve("tsx/esm/api");
  const esm = commonJs.replace(/\.cjs$/, ".mjs");
  if (!existsSync(esm)) throw new Error(`sandbox: cannot find the ESM build of tsx/esm/api next to ${commonJs}`);
  return esm;
}
