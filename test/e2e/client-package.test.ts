import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminPassword, startTestServer, type TestServer } from "../support/server.js";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../..", import.meta.url));
const packageDir = join(repo, "packages", "client");

/** documentedBlock answers the fenced block of a doc that follows `<!-- tested: name -->`. */
function documentedBlock(doc: string, name: string): string {
  const text = readFileSync(join(repo, "docs", doc), "utf8");
  const at = text.indexOf(`<!-- tested: ${name} -->`);
  if (at < 0) throw new Error(`docs/${doc} has no block marked ${name}`);
  return /```[a-z]*\n([\s\S]*?)```/.exec(text.slice(at))![1]!;
}

describe("the @gatehouse/client package, packed and installed elsewhere", { timeout: 240_000 }, () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    server = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), "gatehouse-client-pkg-"));
  });
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("packs to a tarball of built ESM and .d.ts only, installs into a fresh project and runs docs/client.md's example with plain node", async () => {
    // npm ci built dist/ (the root prepare script); packing must not rebuild it under other tests' feet.
    expect(existsSync(join(packageDir, "dist", "node.js"))).toBe(true);
    const { stdout: packed } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: packageDir });
    const [info] = JSON.parse(packed) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const paths = info!.files.map((f) => f.path);
    expect(paths).toContain("dist/node.js");
    expect(paths).toContain("dist/web.d.ts");
    expect(paths).toContain("dist/gen/gatehouse/v1/macros_pb.js");
    expect(paths.filter((p) => p.endsWith(".ts") && !p.endsWith(".d.ts"))).toEqual([]);

    const project = join(dir, "project");
    writeFileSync(join(dir, "package.json"), "{}"); // keeps npm from walking up into the repository
    await run("mkdir", ["-p", project]);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }));
    await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", join(dir, info!.filename)], { cwd: project });
    const installed = readdirSync(join(project, "node_modules"));
    expect(installed).not.toContain("quickjs-emscripten");
    expect(readdirSync(join(project, "node_modules", "@connectrpc")).sort()).toEqual(["connect", "connect-node", "connect-web"]);

    writeFileSync(join(project, "example.mjs"), documentedBlock("client.md", "client node"));
    const { stdout } = await run(process.execPath, ["example.mjs"], {
      cwd: project,
      env: { PATH: process.env.PATH, GATEHOUSE_URL: server.baseUrl, GATEHOUSE_ADMIN_PASSWORD: adminPassword },
    });
    expect(stdout.trim().split("\n")).toEqual(["admin SUPERGOD", 'OK {"doubled":42}', "NotFound NOT_FOUND"]);
  });
});
