import type { Interceptor } from "@connectrpc/connect";
import { kPrincipal, kRequestInfo, type Principal } from "../context.js";
import { DomainError } from "../domain/errors.js";
import { accessRuleOf, roomIdOf } from "./access-rules.js";

/**
 * Authenticator resolves the caller of a request from its headers (bearer
 * token, session cookie, room token). It answers undefined when the request
 * carries no credentials and throws an `unauthenticated` DomainError when it
 * carries bad ones. For cookie sessions and `mutates` calls it also checks the
 * `x-csrf-token` header.
 */
export interface Authenticator {
  /** message is the request's room scope, `{ roomId }` from the method's room_field (roomId undefined when it acts on no room). */
  authenticate(input: { header: Headers; mutates: boolean; ip: string; message: unknown }): Promise<Principal | undefined>;
  /**
   * refuseAnonymous throws the refusal of a call that needs credentials and
   * carries none (UNAUTHENTICATED, or AUTH_RATE_LIMITED once the client has
   * failed too often): a call without credentials counts as a failure.
   */
  refuseAnonymous?(ip: string): Promise<never>;
}

/** isInfrastructure tells the grpc.* services (health, reflection) that need no credentials. */
export function isInfrastructure(typeName: string): boolean {
  return typeName.startsWith("grpc.");
}

/**
 * createAuthnInterceptor puts the Principal in the context. Public methods
 * are let through with whatever credentials resolve (none needed); every
 * other method needs a principal: UNAUTHENTICATED otherwise.
 */
export function createAuthnInterceptor(authenticator: Authenticator): Interceptor {
  return (next) => async (req) => {
    if (isInfrastructure(req.service.typeName)) return next(req);
    const rule = accessRuleOf(req.method);
    const info = req.contextValues.get(kRequestInfo);
    if (rule?.public) {
      // Public methods (Login, Refresh, GetJwks) ignore credentials: a stale
      // token must not stop a user from logging in again.
      return next(req);
    }
    const principal = await authenticator.authenticate({
      header: req.header,
      mutates: rule?.mutates ?? true,
      ip: info.ip,
      // Only the room the method's room_field names: a room token is accepted for that room alone.
      message: req.stream ? undefined : { roomId: roomIdOf(req.method, req.message) },
    });
    if (!principal) {
      if (authenticator.refuseAnonymous) return authenticator.refuseAnonymous(info.ip);
      throw new DomainError("unauthenticated", "UNAUTHENTICATED", "credentials required");
    }
    req.contextValues.set(kPrincipal, principal);
    return next(req);
  };
}
