import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/replicas.js";

// docs/getting-started.md, run as written: its ```sh blocks in order, with
// bash, against a real server started the way the guide starts it (`node
// --import tsx src/main.ts` from the checkout, embedded PGlite in a fresh data
// folder, no Redis), with GATEHOUSE_ADMIN_PASSWORD set. Blocks marked
// ```sh untested (the server's own start, grpcurl) are skipped; a ```ts
// file=NAME block is saved as NAME for the commands that run it.

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const guidePath = join(repoRoot, "docs", "getting-started.md");
const adminPassword = "guide-admin-password-1";

/** Block is one fenced code block of the guide. */
interface Block {
  info: string;
  code: string;
  line: number;
}

/** fencedBlocks answers the guide's fenced code blocks with their info strings and first lines. */
function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`getting-started.md:${start + 1}: unclosed code block`);
    blocks.push({ info: open[1]!.trim(), code: body.join("\n"), line: start + 1 });
  }
  return blocks;
}

/** guideScript makes one bash script of the blocks to run, each announced on stderr with its line. */
function guideScript(blocks: Block[]): { script: string; files: Map<string, string>; run: Block[] } {
  const files = new Map<string, string>();
  const run: Block[] = [];
  for (const block of blocks) {
    const [lang, ...rest] = block.info.split(/\s+/);
    if (lang === "sh") {
      if (rest.length === 0) run.push(block);
      else if (rest.join(" ") !== "untested") throw new Error(`getting-started.md:${block.line}: unknown sh block marker ${JSON.stringify(block.info)}`);
    } else if (lang === "ts" && rest[0]?.startsWith("file=")) {
      files.set(rest[0].slice("file=".length), block.code + "\n");
    }
  }
  // stderr joins stdout, so a transcript shows each block's output in order.
  const script = ["set -euo pipefail", "exec 2>&1", ...run.map((b) => `echo "### getting-started.md:${b.line}"\n${b.code}`), 'echo "### done"'].join("\n");
  return { script, files, run };
}

interface Server {
  child: ChildProcess;
  url: string;
  output(): string;
  dataDir: string;
}

async function startServer(): Promise<Server> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-guide-"));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("GATEHOUSE_")) env[k] = v;
  Object.assign(env, {
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_HOST: "127.0.0.1",
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_ADMIN_PASSWORD: adminPassword,
    GATEHOUSE_LOG_LEVEL: "warn",
  });
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-64 * 1024));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok && ((await res.json()) as { serving?: boolean }).serving) return { child, url, output: () => output, dataDir };
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  child.kill("SIGKILL");
  throw new Error(`the server did not become healthy:\n${output}`);
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode === null) {
    const exited = new Promise((resolve) => server.child.once("exit", resolve));
    server.child.kill("SIGTERM");
    await Promise.race([exited, sleep(15_000).then(() => server.child.kill("SIGKILL"))]);
  }
  rmSync(server.dataDir, { recursive: true, force: true });
}

function runBash(script: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("docs/getting-started.md", () => {
  const guide = guideScript(fencedBlocks(readFileSync(guidePath, "utf8")));
  let server: Server;

  beforeAll(async () => {
    server = await startServer();
  }, 240_000);

  afterAll(async () => {
    if (server) await stopServer(server);
    for (const name of [...guide.files.keys(), "totals.js", "totals.js.bak"]) rmSync(join(repoRoot, name), { force: true });
  }, 30_000);

  it("has the blocks the test runs: the sign-in and every step after it, and the client", () => {
    expect(guide.run.length).toBeGreaterThanOrEqual(15);
    expect(guide.run[0]!.code).toContain("/healthz");
    expect(guide.files.has("first-hour.ts")).toBe(true);
    expect(guide.script).toContain("node --import tsx first-hour.ts");
  });

  it("runs every command of the guide, as written, against a real server", async () => {
    for (const [name, content] of guide.files) writeFileSync(join(repoRoot, name), content);
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("GATEHOUSE_")) env[k] = v;
    Object.assign(env, { GATEHOUSE_URL: server.url, GATEHOUSE_ADMIN_PASSWORD: adminPassword });
    const result = await runBash(guide.script, env, 240_000);
    // GUIDE_TRANSCRIPT=<file> keeps what each block printed (for release notes).
    if (process.env.GUIDE_TRANSCRIPT) writeFileSync(process.env.GUIDE_TRANSCRIPT, result.stdout);
    const failedAt = result.stdout.match(/### (getting-started\.md:\d+)/g)?.at(-1);
    expect(
      result.code,
      `the guide failed in the block at ${failedAt}\n--- output\n${result.stdout.slice(-6000)}\n--- server\n${server.output().slice(-4000)}`,
    ).toBe(0);
    expect(result.stdout).toContain("### done");
    // The client's first run saw the total the curl run stored; its second was refused by the rule.
    expect(result.stdout).toContain("signed in as bob with macros.read, macros.run, rooms.read");
    expect(result.stdout).toMatch(/^OK .*total 250 previous 242/m);
    expect(result.stdout).toMatch(/^DENIED /m);
  }, 300_000);
});
