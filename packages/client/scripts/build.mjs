// The package build: copy the generated schemas of gatehouse.v1 from the
// repository's gen/ (made by `buf generate` at the root) into src/gen/, then
// compile everything with tsc to ESM JavaScript and .d.ts in dist/.
// src/gen/ and dist/ are build output (git-ignored): edit the protos, not them.
import { execFileSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
rmSync(join(root, "dist"), { recursive: true, force: true });
rmSync(join(root, "src", "gen"), { recursive: true, force: true });
cpSync(join(root, "..", "..", "gen", "gatehouse"), join(root, "src", "gen", "gatehouse"), { recursive: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.json")], { stdio: "inherit" });
