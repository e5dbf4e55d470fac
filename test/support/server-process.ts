import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

/** repoRoot is the folder the entry points are started from. */
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** ServerProcess is one `node --import tsx <entry>` process with its output kept. */
export interface ServerProcess {
  child: ChildProcess;
  /** stdout and stderr answer everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
  /** exited settles with the exit code (or signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** waitForOutput waits until stdout+stderr match `pattern`; rejects if the process exits first or after timeoutMs. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** stop sends SIGTERM (SIGKILL after timeoutMs) and waits for the exit. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();
let hooked = false;

/**
 * startProcess runs `node --import tsx <entry> ...args` from the repository
 * root with exactly `env` (plus PATH and HOME; no GATEHOUSE_* of the test
 * process), and keeps its output.
 */
export function startProcess(entry: string, env: Record<string, string>, args: string[] = [], stdin?: string): ServerProcess {
  if (!hooked) {
    hooked = true;
    process.once("exit", () => {
      for (const child of live) child.kill("SIGKILL");
    });
  }
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("GATEHOUSE_")) childEnv[k] = v;
  Object.assign(childEnv, { GATEHOUSE_LOG_FORMAT: "json" }, env);
  const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], {
    cwd: repoRoot,
    env: childEnv,
    stdio: [stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  if (stdin !== undefined) child.stdin!.end(stdin);
  live.add(child);
  let out = "";
  let err = "";
  const listeners = new Set<() => void>();
  child.stdout!.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    for (const l of listeners) l();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    err += chunk.toString();
    for (const l of listeners) l();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const l of listeners) l();
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForOutput(pattern, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`no output matching ${pattern} within ${timeoutMs} ms:\n${out}\n${err}`)), timeoutMs);
        const check = () => {
          const match = (out + err).match(pattern);
          if (match) done(undefined, match);
          else if (gone) done(new Error(`process exited before printing ${pattern}:\n${out}\n${err}`));
        };
        const done = (error?: Error, match?: RegExpMatchArray) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve(match!);
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = "SIGTERM", timeoutMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      await sleep(0);
      return result;
    },
  };
}
