import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildSync } from "esbuild";
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
 * startWorkerThread starts a sandbox worker thread. From compiled JavaScript it starts worker.js
 * directly. From TypeScript sources (tsx, vitest) it starts a bundle of worker.ts that esbuild
 * makes once per process (sandboxWorkerBundle); only when that fails does the thread register
 * tsx's loader before importing worker.ts (Node 20 does not pass `--import` on to workers). tsx
 * in a worker cost ~300 ms of start-up and ~19 MB of resident memory per worker (its loader
 * runs another thread with a heap of its own). The thread never inherits the parent's exec
 * arguments.
 */
export function startWorkerThread(workerData: WorkerOptions, resourceLimits: ResourceLimits = WORKER_RESOURCE_LIMITS): Worker {
  const options = { workerData, execArgv: [], resourceLimits };
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./worker.js", import.meta.url), options);
  const bundle = sandboxWorkerBundle();
  if (bundle) return new Worker(bundle, options);
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

let bundled: URL | null | undefined;

/**
 * sandboxWorkerBundle bundles worker.ts and what it imports of src/ into one ES module (packages
 * stay imports), written once under node_modules/.cache/gatehouse/ with its content's hash in
 * its name (so processes of different sources never share one, and a file is written whole
 * before it is renamed into place). Built afresh by every process (~30 ms), so it is never older
 * than the sources. Undefined when it can't be built or written: the caller falls back to tsx.
 */
export function sandboxWorkerBundle(): URL | undefined {
  if (bundled !== undefined) return bundled ?? undefined;
  bundled = null;
  try {
    const cacheDir = fileURLToPath(new URL("../../node_modules/.cache/gatehouse/", import.meta.url));
    const out = buildSync({
      entryPoints: [fileURLToPath(new URL("./worker.ts", import.meta.url))],
      bundle: true,
      platform: "node",
      format: "esm",
      target: ["node20"],
      packages: "external",
      write: false,
      logLevel: "silent",
    });
    const code = out.outputFiles[0]!.contents;
    const file = `${cacheDir}sandbox-worker-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`;
    if (!existsSync(file)) {
      mkdirSync(cacheDir, { recursive: true });
      const partial = `${file}.${process.pid}.partial`;
      writeFileSync(partial, code);
      renameSync(partial, file);
    }
    bundled = pathToFileURL(file);
  } catch {
    bundled = null;
  }
  return bundled ?? undefined;
}
