#!/usr/bin/env node
// The `gatehouse` command: the CLI's TypeScript (src/cli/) run through tsx, as the server is.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
const code = await main(process.argv);
// Exit now: an idle HTTP/2 connection would otherwise keep the process alive. Flush first.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write("", resolve))));
process.exit(code);
