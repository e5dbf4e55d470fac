import type { HostModuleName } from "./types.js";

/**
 * Host modules as the macro sees them: thin ES-module shims, evaluated inside QuickJS, that call
 * one bridge function with JSON strings. The bridge is handed to them by the internal module,
 * which takes it off the global object before any macro code runs; see engine.ts for the
 * loading order that guarantees this.
 */

/** HOST_FUNCTIONS lists, per host module, the functions its shim exports and the bridge accepts. */
export const HOST_FUNCTIONS: Readonly<Record<HostModuleName, readonly string[]>> = {
  "gatehouse:store": ["get", "list", "put", "remove"],
  "gatehouse:net": ["fetch"],
  "gatehouse:log": ["log"],
};

/** isHostModuleName tells whether `name` is one of the `gatehouse:*` modules. */
export function isHostModuleName(name: string): name is HostModuleName {
  return Object.hasOwn(HOST_FUNCTIONS, name);
}

/** INTERNAL_MODULE is importable only by the shims; it holds the bridge. */
export const INTERNAL_MODULE = "gatehouse:internal";

/** ENTRY_MODULE is the module evaluated by the engine: it imports INTERNAL_MODULE, then the macro. */
export const ENTRY_MODULE = "gatehouse:entry";

/** MACRO_MODULE is the name under which the macro's code is loaded (it shows in stack traces). */
export const MACRO_MODULE = "macro";

/** BRIDGE_GLOBAL is the global the engine sets for INTERNAL_MODULE to take; it is gone before macro code runs. */
export const BRIDGE_GLOBAL = "__gatehouse_bridge__";

/** SEAL_FUNCTION is the bridge call with which INTERNAL_MODULE tells the engine that linking is over. */
export const SEAL_FUNCTION = "seal";

/** ENTRY_EXPORT is the entry module's export holding the macro's default export. */
export const ENTRY_EXPORT = "main";

/**
 * ENTRY_SOURCE evaluates INTERNAL_MODULE first (modules evaluate depth-first in import order),
 * then the macro and the shims it imports.
 */
export const ENTRY_SOURCE = `import "${INTERNAL_MODULE}";
import * as macro from "${MACRO_MODULE}";
export const ${ENTRY_EXPORT} = macro.default;
`;

/** INTERNAL_SOURCE takes the bridge off the global object and seals module loading. */
export const INTERNAL_SOURCE = `const bridge = globalThis.${BRIDGE_GLOBAL};
delete globalThis.${BRIDGE_GLOBAL};
bridge("${INTERNAL_MODULE}", "${SEAL_FUNCTION}", "[]");
export { bridge };
`;

const STORE_SOURCE = `import { bridge } from "${INTERNAL_MODULE}";
const stringify = JSON.stringify;
const call = (fn, args) => bridge("gatehouse:store", fn, stringify(args));
export async function get(collection, id) { return call("get", [collection, id]); }
export async function list(collection, options) { return call("list", options === undefined ? [collection] : [collection, options]); }
export async function put(collection, id, doc) { return call("put", [collection, id, doc]); }
export async function remove(collection, id) { return call("remove", [collection, id]); }
export default Object.freeze({ get, list, put, remove });
`;

const NET_SOURCE = `import { bridge } from "${INTERNAL_MODULE}";
const stringify = JSON.stringify;
export async function fetch(url, init) {
  return bridge("gatehouse:net", "fetch", stringify(init === undefined ? [url] : [url, init]));
}
export default Object.freeze({ fetch });
`;

const LOG_SOURCE = `import { bridge } from "${INTERNAL_MODULE}";
const stringify = JSON.stringify;
const toText = String;
function show(value) {
  if (typeof value === "string") return value;
  try {
    const json = stringify(value);
    if (json !== undefined) return json;
  } catch {}
  try { return toText(value); } catch { return "[unprintable]"; }
}
export function log(...args) {
  let line = "";
  for (let i = 0; i < args.length; i++) line += (i === 0 ? "" : " ") + show(args[i]);
  bridge("gatehouse:log", "log", stringify([line]));
}
export default Object.freeze({ log });
`;

/** SHIM_SOURCES maps each host module to its shim's source. */
export const SHIM_SOURCES: Readonly<Record<HostModuleName, string>> = {
  "gatehouse:store": STORE_SOURCE,
  "gatehouse:net": NET_SOURCE,
  "gatehouse:log": LOG_SOURCE,
};
