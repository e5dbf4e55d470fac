/**
 * The layer boundaries of Gatehouse, checked by `npm run lint:deps`
 * (docs/architecture.md, "Layers", says what each layer is for).
 *
 * Violations that existed when the rules were introduced are listed in
 * .dependency-cruiser-known-violations.json and ignored (--ignore-known);
 * anything new fails. Shrink that file as areas are converted; delete it
 * (and --ignore-known) once it is empty.
 */

// Infrastructure: adaptors to the outside world and shared machinery that the
// use cases and the RPC layer both build on. The store is below them all.
const infrastructure =
  "^src/(auth|locks|sandbox|net|shared-state|http|rules|policies|macros|rooms|repos|audit|store)/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "orm-only-in-store",
      comment:
        "MikroORM and the pg driver are details of the store: only src/store/ and migrations/ import them. " +
        "Everything else goes through a store interface and the opaque Tx.",
      severity: "error",
      from: { pathNot: "^(src/store|migrations)/" },
      to: { path: "node_modules/(@mikro-orm/[^/]+|pg|@types/pg)/" },
    },
    {
      name: "domain-is-pure",
      comment: "src/domain/ holds pure rules: it imports only itself (and the generated code in gen/).",
      severity: "error",
      from: { path: "^src/domain/" },
      to: { path: "^src/", pathNot: "^src/domain/" },
    },
    {
      name: "sandbox-is-self-contained",
      comment: "src/sandbox/ runs untrusted code in workers: it imports nothing else of src/.",
      severity: "error",
      from: { path: "^src/sandbox/" },
      to: { path: "^src/", pathNot: "^src/sandbox/" },
    },
    {
      name: "use-cases-not-rpc",
      comment:
        "Use cases (src/app/) know nothing of RPC: they import neither the service adaptors nor the interceptors.",
      severity: "error",
      from: { path: "^src/app/" },
      to: { path: "^src/(services|interceptors)/" },
    },
    {
      name: "infrastructure-not-rpc",
      comment:
        "Infrastructure and the store sit below the RPC layer: they import neither src/services/ nor src/interceptors/.",
      severity: "error",
      from: { path: infrastructure },
      to: { path: "^src/(services|interceptors)/" },
    },
    {
      name: "interceptors-not-store",
      comment:
        "Interceptors handle the RPC call; they reach data through functions injected when the server is wired, never by importing the store.",
      severity: "error",
      from: { path: "^src/interceptors/" },
      to: { path: "^src/store/" },
    },
    {
      name: "no-circular",
      comment: "No import cycles between modules.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports count: `import type { EntityManager }` ties a module to MikroORM as much as a value import.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".cjs", ".mjs", ".json"],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
