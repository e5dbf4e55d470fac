import { Code, ConnectError, createGatehouseClient, errorDetailOf, type ErrorDetail, type GatehouseClient, type Interceptor } from "@gatehouse/client/web";
import { csrfCookie, readCookie } from "../../auth/cookies.js";
import { track } from "./in-flight.js";

/** Api is the console's set of typed clients (the same shape as the service-to-service client). */
export type Api = GatehouseClient;

/** hasSessionCookie tells whether a browser session probably exists (its readable CSRF cookie is set). */
export function hasSessionCookie(): boolean {
  return readCookie(document.cookie, csrfCookie) !== undefined;
}

/**
 * createApi builds typed clients over Connect-Web on the page's own origin.
 * Cookies go along (same-origin credentials), every call carries
 * `x-csrf-token` from the `gh_csrf` cookie (the server requires it on
 * cookie calls that change anything), and an UNAUTHENTICATED answer calls
 * `onSessionLost` (with the error, whose message says why) so the console
 * can return to the login form.
 */
export function createApi(options: { baseUrl?: string; onSessionLost?: (err: ConnectError) => void } = {}): Api {
  const csrf: Interceptor = (next) => async (req) => {
    const token = readCookie(document.cookie, csrfCookie);
    if (token) req.header.set("x-csrf-token", token);
    try {
      // Counted while in flight: a new screen is shown once its first calls are answered.
      return await track(next(req));
    } catch (err) {
      const e = ConnectError.from(err);
      if (e.code === Code.Unauthenticated && req.method.name !== "Login") options.onSessionLost?.(e);
      throw err;
    }
  };
  // Retries off: a person is watching and retries by clicking again.
  return createGatehouseClient({ baseUrl: options.baseUrl ?? location.origin, interceptors: [csrf], credentials: "same-origin", retry: false });
}

/** Failure is a failed call, decoded: its code name, our ErrorDetail (if any) and a readable message. */
export interface Failure {
  code: Code;
  codeName: string;
  reason: string;
  message: string;
  detail: ErrorDetail | undefined;
}

/** failureOf decodes any error thrown by a call. */
export function failureOf(err: unknown): Failure {
  const e = ConnectError.from(err);
  const detail = errorDetailOf(e);
  return {
    code: e.code,
    codeName: Code[e.code] ?? "Unknown",
    reason: detail?.reason ?? "",
    message: e.rawMessage,
    detail,
  };
}
