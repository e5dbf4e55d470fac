import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DataDirLockedError, LOCK_FILE_NAME, lockDataDir } from "../../src/store/data-dir-lock.js";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-lock-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** deadPid answers the pid of a process that has just exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

describe("lockDataDir", () => {
  it("refuses a second hold while the first is held, naming the directory and the holder, and leaves the directory as it was", () => {
    const dir = tempDir();
    const lock = lockDataDir(dir);
    const before = readdirSync(dir).sort();
    let refused: unknown;
    try {
      lockDataDir(dir, "admin reset-password");
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(DataDirLockedError);
    expect((refused as DataDirLockedError).holder.pid).toBe(process.pid);
    expect((refused as Error).message).toContain(dir);
    expect(readdirSync(dir).sort()).toEqual(before);
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(false);
    lockDataDir(dir).release();
  });

  it("takes over at once a lock whose holder is gone, and says whose it was", async () => {
    const dir = tempDir();
    const pid = await deadPid();
    writeFileSync(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid, host: hostname(), command: "server", nonce: "dead", acquiredAt: "then" }));
    const lock = lockDataDir(dir);
    expect(lock.tookOver?.pid).toBe(pid);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE_NAME), "utf8")).pid).toBe(process.pid);
    expect(readdirSync(dir)).toEqual([LOCK_FILE_NAME]);
    lock.release();
  });

  it("treats a live pid with another start time (a reused pid) as gone", () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid: process.pid, host: hostname(), startTime: "1", command: "server", nonce: "old", acquiredAt: "then" }));
    const lock = lockDataDir(dir);
    expect(lock.tookOver?.nonce).toBe("old");
    lock.release();
  });

  it("release leaves a lock that is no longer its own", () => {
    const dir = tempDir();
    const lock = lockDataDir(dir);
    const other = JSON.stringify({ pid: process.pid, host: hostname(), command: "server", nonce: "other", acquiredAt: "now" });
    writeFileSync(join(dir, LOCK_FILE_NAME), other);
    lock.release();
    expect(readFileSync(join(dir, LOCK_FILE_NAME), "utf8")).toBe(other);
  });
});
