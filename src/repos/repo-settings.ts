import { invalidArgument } from "../domain/errors.js";
import { checkUrlStatic, type UrlPolicy } from "../net/url-guard.js";

/**
 * The settings of a repo (url, ref, path) as UpdateRepo validates and
 * stores them. Pure: the URL is checked against a policy without resolving
 * its host (SyncRepo checks every address when it connects).
 */

/**
 * normalizeRepoUrl checks a repo URL against the policy (checkUrlStatic:
 * scheme, credentials, allowed host, IP literals) and answers it without a
 * trailing `/`. Query strings and fragments are refused: git URLs have none.
 */
export function normalizeRepoUrl(raw: string, policy: UrlPolicy): string {
  const text = raw.trim();
  if (text === "") throw invalidArgument("url", "is required");
  if (/[#]/.test(text)) throw invalidArgument("url", "must not have a fragment");
  const checked = checkUrlStatic(text, policy);
  if (checked.url.search !== "") throw invalidArgument("url", "must not have a query string");
  const pathname = checked.url.pathname.replace(/\/+$/, "");
  return `${checked.url.protocol}//${checked.url.host}${pathname}`;
}

const refPart = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;

/**
 * checkRef refuses what is not a plain branch or tag name: git's
 * check-ref-format rules, narrowed to `A-Z a-z 0-9 _ . + - /` (at most 200
 * characters, no `..`, no part starting with `.` or `-`, none ending with
 * `.lock`, no empty part). `refs/heads/x` and `refs/tags/x` are accepted as
 * written. Empty means the remote's HEAD.
 */
export function checkRef(raw: string): string {
  const ref = raw.trim();
  if (ref === "") return "";
  const bad = (why: string) => invalidArgument("ref", why, ref.slice(0, 200));
  if (ref.length > 200) throw bad("must be at most 200 characters");
  if (ref.includes("..")) throw bad("must not contain '..'");
  for (const part of ref.split("/")) {
    if (!refPart.test(part)) throw bad("must be a branch or tag name: parts of letters, digits, _ . + - separated by /, not starting with . or -");
    if (part.endsWith(".lock") || part.endsWith(".")) throw bad("no part may end with '.lock' or '.'");
  }
  return ref;
}

const pathPart = /^[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]*$/;

/**
 * normalizePath answers a folder path without leading or trailing `/`
 * (empty for the root). Parts are letters, digits and `_ . @ + -`, never
 * `.` or `..`, and do not start with `.` (hidden folders are not synced).
 */
export function normalizePath(raw: string): string {
  const path = raw.trim().replace(/^\/+|\/+$/g, "");
  if (path === "") return "";
  if (path.length > 200) throw invalidArgument("path", "must be at most 200 characters", path.slice(0, 200));
  for (const part of path.split("/")) {
    if (!pathPart.test(part)) throw invalidArgument("path", "must be a folder path: parts of letters, digits, _ . @ + -, not starting with '.', separated by single /", path);
  }
  return path;
}
