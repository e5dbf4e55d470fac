import { copyFile, mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { defaultConsoleDir } from "../config.js";

/**
 * The console build: esbuild bundles `app/main.ts` (browser code, with
 * connect-web and the generated clients from gen/) into one ES module,
 * `app.js`, and the files of `static/` are copied beside it. No framework,
 * no config file, no network: esbuild is already installed (tsx uses it).
 *
 * `npm start` runs it first (`prestart`); the console e2e test builds into a
 * folder of its own. Run by hand: `node --import tsx src/console/build.ts [outDir]`.
 */

const here = fileURLToPath(new URL(".", import.meta.url));

/** ConsoleBuild says where the console was built and what it holds. */
export interface ConsoleBuild {
  outDir: string;
  files: Array<{ name: string; bytes: number }>;
}

/** buildConsole bundles the console into `outDir` (default dist/console), replacing what was there. */
export async function buildConsole(outDir: string = defaultConsoleDir): Promise<ConsoleBuild> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [join(here, "app", "main.ts")],
    outfile: join(outDir, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022"],
    minify: true,
    sourcemap: "linked",
    legalComments: "eof",
    logLevel: "warning",
    // platform "browser": anything that pulls in a Node module fails the build.
    define: { "process.env.NODE_ENV": '"production"' },
  });
  const staticDir = join(here, "static");
  for (const name of await readdir(staticDir)) await copyFile(join(staticDir, name), join(outDir, name));
  const files = await Promise.all((await readdir(outDir)).sort().map(async (name) => ({ name, bytes: (await stat(join(outDir, name))).size })));
  return { outDir, files };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  const result = await buildConsole(process.argv[2] ?? defaultConsoleDir);
  const total = result.files.reduce((n, f) => n + f.bytes, 0);
  process.stdout.write(`console built in ${Date.now() - started} ms → ${result.outDir} (${result.files.map((f) => f.name).join(", ")}; ${Math.round(total / 1024)} KiB)\n`);
}
