import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/**
 * The CLI build: esbuild bundles src/cli/ into one ES module,
 * dist/cli/gatehouse.js (packages stay imports), so `gatehouse` starts without
 * compiling TypeScript (about a third of the CPU of running it through tsx).
 * `npm ci` runs it (the prepare script); bin/gatehouse.js falls back to tsx
 * when the bundle is missing or older than a file of src/cli/.
 */

/** cliBundle is where the bundle goes. */
export const cliBundle = fileURLToPath(new URL("../../dist/cli/gatehouse.js", import.meta.url));

/** buildCli bundles the CLI. */
export async function buildCli(): Promise<void> {
  await build({
    entryPoints: [fileURLToPath(new URL("main.ts", import.meta.url))],
    outfile: cliBundle,
    bundle: true,
    platform: "node",
    format: "esm",
    target: ["node20"],
    packages: "external",
    logLevel: "warning",
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildCli();
