/**
 * Name rules of the identity core (docs/concepts.md). Pure checks: each answers
 * why a name is refused, or undefined when it is fine.
 */

/** usernamePattern is the shape of a username, unique per tenant. */
export const usernamePattern = /^[a-z0-9][a-z0-9_.-]{2,63}$/;

/** tenantNamePattern is the shape of a tenant name, unique on the platform. */
export const tenantNamePattern = /^[a-z0-9][a-z0-9_.-]{2,63}$/;

/** roleNamePattern is the shape of a role name, unique per tenant. */
export const roleNamePattern = /^[a-z][a-z0-9_.-]{1,63}$/;

/** usernameProblem answers why a username is refused, or undefined. */
export function usernameProblem(name: string): string | undefined {
  return usernamePattern.test(name) ? undefined : "must match ^[a-z0-9][a-z0-9_.-]{2,63}$";
}

/** tenantNameProblem answers why a tenant name is refused, or undefined. */
export function tenantNameProblem(name: string): string | undefined {
  return tenantNamePattern.test(name) ? undefined : "must match ^[a-z0-9][a-z0-9_.-]{2,63}$";
}

/** roleNameProblem answers why a role name is refused, or undefined. */
export function roleNameProblem(name: string): string | undefined {
  return roleNamePattern.test(name) ? undefined : "must match ^[a-z][a-z0-9_.-]{1,63}$";
}

/** macroNamePattern is the shape of a macro name, unique per room (`reports/daily.js`). */
export const macroNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.\/-]{0,127}$/;

/** macroNameProblem answers why a macro name is refused, or undefined. */
export function macroNameProblem(name: string): string | undefined {
  if (!macroNamePattern.test(name)) return "must be 1-128 characters of letters, digits, _ . / - starting with a letter or digit";
  if (name.includes("..") || name.endsWith("/")) return "must not contain '..' or end with '/'";
  return undefined;
}

/** defaultTenantName is the platform's own tenant, home of GOD and SUPERGOD users (made at the first start). */
export const defaultTenantName = "default";
