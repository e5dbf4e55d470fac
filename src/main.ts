import { loadConfig, ConfigError } from "./config.js";
import { startGatehouse } from "./app.js";

// main: configuration → dependencies → listen; SIGTERM/SIGINT shut down gracefully.
let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(err.message + "\n");
    process.exit(2);
  }
  throw err;
}
const gatehouse = await startGatehouse(config);
let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    gatehouse.deps.logger.info({ signal }, "shutting down");
    gatehouse.close().then(
      () => process.exit(0),
      (err) => {
        gatehouse.deps.logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
