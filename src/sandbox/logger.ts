/**
 * SandboxLogger is the part of a structured (pino) logger the sandbox uses; the service's
 * `Logger` fits it.
 */
export interface SandboxLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** silentLogger drops everything; the default when the caller passes no logger. */
export const silentLogger: SandboxLogger = {
  warn() {},
  error() {},
};
