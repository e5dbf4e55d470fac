import { pino, type Logger } from "pino";

export type { Logger };

/**
 * createLogger builds the structured JSON logger. Secrets are redacted by
 * path wherever they might be logged by accident.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: "gatehouse" },
      redact: {
        paths: [
          "password", "*.password", "*.newPassword", "*.oldPassword", "*.adminPassword",
          "token", "*.token", "*.accessToken", "*.refreshToken", "*.authorization", "*.cookie",
          "headers.authorization", "headers.cookie", "*.privateKey", "*.hmacKey",
        ],
        censor: "[redacted]",
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as never,
  );
}
