#!/usr/bin/env node
// The `gatehouse` command. It runs the bundle that `npm ci` builds (dist/cli/gatehouse.js, see
// src/cli/build.ts) when it is newer than every file of src/cli/, else the TypeScript through tsx.
import { existsSync, readdirSync, statSync } from "node:fs";

const bundle = new URL("../dist/cli/gatehouse.js", import.meta.url);
const sources = new URL("../src/cli/", import.meta.url);
const fresh = () => {
  if (!existsSync(bundle)) return false;
  const built = statSync(bundle).mtimeMs;
  return readdirSync(sources, { recursive: true }).every((file) => statSync(new URL(String(file), sources)).mtimeMs <= built);
};

let main;
if (fresh()) ({ main } = await import(bundle.href));
else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/cli/main.ts"));
}
const code = await main(process.argv);
// Exit now: an idle HTTP/2 connection would otherwise keep the process alive. Flush first.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write("", resolve))));
process.exit(code);
