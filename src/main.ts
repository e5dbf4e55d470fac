import { loadConfig, ConfigError } from "./config.js";
import { startGatehouse, StartupError, type Gatehouse } from "./app.js";
import { DataDirLockedError } from "./store/data-dir-lock.js";

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
let gatehouse: Gatehouse;
try {
  gatehouse = await startGatehouse(config);
} catch (err) {
  // Conditions a person can fix get one line, not a stack trace.
  if (err instanceof StartupError || err instanceof DataDirLockedError) {
    process.stderr.write(`gatehouse: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
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
