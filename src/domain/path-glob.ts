/**
 * Path globs: the resource patterns of runtime rules on `macro.run`, over
 * macro names (`reports`, `reports/*`, `reports/**`, `*`). Store rules have
 * their own forms (`collection`, `collection/idGlob`: src/domain/rules.ts).
 *
 * Grammar (case-sensitive):
 *
 *     path-glob = "*"                          every resource
 *               | segment *( "/" segment )
 *     segment   = "**"                         zero or more whole segments
 *               | 1*( char | "*" )             "*" = any run of chars within the segment
 *     char      = [A-Za-z0-9_.:@+=~,-]
 *
 * So `reports` matches the name `reports` only, `reports/*` matches
 * `reports/daily` but not `reports/daily/extra`, and `reports/**` matches
 * `reports` and everything below it. A bare `*` is the
 * "any resource" wildcard. `**` may not follow `**`, and a glob is at most 512
 * characters. Resources are compared as given: no case folding and no
 * normalization of `.`, `..` or repeated slashes (the store refuses those).
 */

const segmentShape = /^[A-Za-z0-9_.:@+=~,*-]+$/;

/** maxPathGlobLength is the longest accepted path glob. */
export const maxPathGlobLength = 512;

/** checkPathGlob answers why `text` is not a path glob, or undefined when it is one. */
export function checkPathGlob(text: string): string | undefined {
  if (text.length === 0) return "must not be empty";
  if (text.length > maxPathGlobLength) return `must be at most ${maxPathGlobLength} characters`;
  if (text === "*") return undefined;
  let previous = "";
  for (const segment of text.split("/")) {
    if (segment.length === 0) return "must not have empty segments (leading, trailing or doubled `/`)";
    if (!segmentShape.test(segment)) return "segments may hold only letters, digits, `_.:@+=~,-` and `*`";
    if (segment.includes("**") && segment !== "**") return "`**` must be a whole segment";
    if (segment === "**" && previous === "**") return "`**` must not follow `**`";
    previous = segment;
  }
  return undefined;
}

/** PathMatcher is a compiled path glob. */
export interface PathMatcher {
  /** literal is the glob itself when it has no wildcard (match by equality). */
  readonly literal: string | undefined;
  /** test says whether a concrete resource matches. */
  test(resource: string): boolean;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function segmentPattern(segment: string): string {
  return segment.split("*").map(escapeRegExp).join("[^/]*");
}

/**
 * compilePathGlob compiles a valid path glob (see checkPathGlob) once into a
 * matcher; it throws a RangeError on a malformed one.
 */
export function compilePathGlob(text: string): PathMatcher {
  const problem = checkPathGlob(text);
  if (problem !== undefined) throw new RangeError(`path glob ${JSON.stringify(text)} ${problem}`);
  if (text === "*") return { literal: undefined, test: () => true };
  if (!text.includes("*")) return { literal: text, test: (resource) => resource === text };
  const segments = text.split("/");
  let source = "^";
  let needSlash = false;
  segments.forEach((segment, i) => {
    if (segment === "**") {
      if (segments.length === 1) source += ".*";
      else if (i === 0) source += "(?:[^/]+/)*";
      else source += "(?:/[^/]+)*";
      needSlash = i !== 0;
      return;
    }
    source += (needSlash ? "/" : "") + segmentPattern(segment);
    needSlash = true;
  });
  const pattern = new RegExp(`${source}$`);
  return { literal: undefined, test: (resource) => pattern.test(resource) };
}
