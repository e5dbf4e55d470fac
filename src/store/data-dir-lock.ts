import { randomBytes } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";

/** LOCK_FILE_NAME is the file in a data directory that names the process holding it. */
export const LOCK_FILE_NAME = "gatehouse.lock";

/** DataDirHolder is what the lock file says about the process holding the directory. */
export interface DataDirHolder {
  pid: number;
  host: string;
  /** startTime is the holder's start time in clock ticks since boot (Linux /proc), to tell a reused pid apart. */
  startTime?: string;
  /** command says what holds it: "server" or "admin reset-password". */
  command: string;
  /** nonce tells two lock files of the same pid apart. */
  nonce: string;
  acquiredAt: string;
}

/** DataDirLockedError says another live process holds the data directory. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: DataDirHolder,
  ) {
    super(
      `data directory ${dir} is in use by process ${holder.pid} (${holder.command}, on ${holder.host}, since ${holder.acquiredAt}); ` +
        "stop it first, or use another GATEHOUSE_DATA_DIR",
    );
    this.name = "DataDirLockedError";
  }
}

/** DataDirLock is an exclusive hold on a data directory; release() gives it up. */
export interface DataDirLock {
  readonly dir: string;
  /** tookOver is the dead holder whose stale lock was taken over, if any. */
  readonly tookOver?: DataDirHolder;
  release(): void;
}

/** processStartTime answers a process's start time from /proc (Linux), or undefined elsewhere or when it is gone. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22 (starttime), counted after the parenthesised command name, which may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19];
  } catch {
    return undefined;
  }
}

/** isAlive answers whether the holder named in a lock file still runs (always true for another host: we cannot tell). */
function isAlive(holder: DataDirHolder): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  // The pid runs: the same process only if it started when the holder did.
  const now = processStartTime(holder.pid);
  return holder.startTime === undefined || now === undefined || now === holder.startTime;
}

function readHolder(path: string): DataDirHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as Partial<DataDirHolder>;
    if (typeof parsed.pid !== "number" || typeof parsed.host !== "string" || typeof parsed.nonce !== "string") return undefined;
    return parsed as DataDirHolder;
  } catch {
    return undefined;
  }
}

/**
 * lockDataDir takes an exclusive hold on `dir` for this process: a lock file
 * naming the pid, created atomically (a private file hard-linked into place).
 * A live holder → DataDirLockedError, with nothing left behind in `dir`
 * (which is created only if it does not exist yet). A holder that is gone
 * (killed, crashed) is detected at once by its pid and start time, and its
 * lock is taken over (`tookOver` says whose).
 */
export function lockDataDir(dir: string, command = "server"): DataDirLock {
  const absolute = resolve(dir);
  if (!existsSync(absolute)) mkdirSync(absolute, { recursive: true, mode: 0o700 });
  const lockPath = join(absolute, LOCK_FILE_NAME);
  const me: DataDirHolder = {
    pid: process.pid,
    host: hostname(),
    startTime: processStartTime(process.pid),
    command,
    nonce: randomBytes(8).toString("hex"),
    acquiredAt: new Date().toISOString(),
  };
  const privatePath = `${lockPath}.${process.pid}.${me.nonce}`;
  writeFileSync(privatePath, JSON.stringify(me) + "\n", { mode: 0o600, flag: "wx" });
  let tookOver: DataDirHolder | undefined;
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(privatePath, lockPath);
        return {
          dir: absolute,
          tookOver,
          release() {
            // Remove the lock only while it is still ours.
            if (readHolder(lockPath)?.nonce === me.nonce) unlinkSync(lockPath);
          },
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = readHolder(lockPath);
      if (holder && isAlive(holder)) throw new DataDirLockedError(absolute, holder);
      // Stale (its holder is gone) or unreadable: move it aside, then check
      // that what was moved is the stale file read above and not a lock
      // another process took meanwhile (then put that one back).
      const aside = `${lockPath}.stale.${me.nonce}`;
      try {
        renameSync(lockPath, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw err;
      }
      const moved = readHolder(aside);
      if (holder && moved && moved.nonce !== holder.nonce) {
        try {
          linkSync(aside, lockPath);
        } finally {
          unlinkSync(aside);
        }
        continue;
      }
      unlinkSync(aside);
      tookOver = holder ?? { pid: 0, host: "", command: "unknown (unreadable lock file)", nonce: "", acquiredAt: "" };
    }
    throw new Error(`could not lock data directory ${absolute}: the lock file keeps changing`);
  } finally {
    unlinkSync(privatePath);
  }
}
