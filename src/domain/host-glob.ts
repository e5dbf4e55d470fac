/**
 * Host globs, shared by the policy's `allowed_hosts` and by runtime rules on
 * `net.fetch`.
 *
 * Grammar (case-insensitive; stored and compared lowercased):
 *
 *     host-glob = names [ ":" port ]
 *     names     = "*"                 any host name (any number of labels)
 *               | "*." hostname       exactly one label, then hostname
 *               | "**." hostname      one or more labels, then hostname
 *               | hostname            exactly that name
 *     hostname  = label *( "." label )          at most 253 characters
 *     label     = 1-63 of [a-z0-9_-], not starting or ending with "-"
 *     port      = 1-65535 (no leading zero)     only that explicit port
 *               | "*"                           any port, explicit or not
 *
 * A glob without a port matches only a host written without one, which is
 * the scheme's default port (`URL.host` omits default ports, so callers pass
 * `new URL(u).host`). `*` is only ever a whole label: `*.example.com` matches
 * `a.example.com` but neither `example.com`, nor `a.b.example.com`, nor
 * `example.com.evil.net`; `**.example.com` also matches `a.b.example.com`.
 * IPv6 literals are not supported: they are no valid glob and match none.
 */

/** HostGlob is a parsed host glob. */
export interface HostGlob {
  /**
   * wildcard says what precedes `labels`: nothing (`none`), exactly one label
   * (`one`, written `*.`), or one or more labels (`many`, written `**.`, or a
   * bare `*` when `labels` is empty).
   */
  readonly wildcard: "none" | "one" | "many";
  /** labels are the literal trailing labels, lowercased. */
  readonly labels: readonly string[];
  /** port is `default` (no port written), an explicit port, or `any` (`:*`). */
  readonly port: "default" | "any" | number;
}

/** HostName is a parsed concrete host (`name` or `name:port`). */
export interface HostName {
  /** labels are the host's labels, lowercased, without a trailing dot. */
  readonly labels: readonly string[];
  /** port is the explicit port, or undefined for the scheme's default. */
  readonly port: number | undefined;
  /** key is the canonical text: `labels.join(".")` plus `:port` if explicit. */
  readonly key: string;
}

const labelShape = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const portShape = /^[1-9][0-9]{0,4}$/;

function parsePort(text: string): number | undefined {
  if (!portShape.test(text)) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

function parseLabels(text: string): string[] | undefined {
  if (text.length === 0 || text.length > 253) return undefined;
  const labels = text.split(".");
  for (const label of labels) if (!labelShape.test(label)) return undefined;
  return labels;
}

/** parseHostGlob parses a host glob, or answers undefined when it is malformed. */
export function parseHostGlob(text: string): HostGlob | undefined {
  const lower = text.toLowerCase();
  const colon = lower.indexOf(":");
  let names = lower;
  let port: HostGlob["port"] = "default";
  if (colon >= 0) {
    names = lower.slice(0, colon);
    const portText = lower.slice(colon + 1);
    if (portText === "*") port = "any";
    else {
      const p = parsePort(portText);
      if (p === undefined) return undefined;
      port = p;
    }
  }
  if (names === "*" || names === "**") return { wildcard: "many", labels: [], port };
  let wildcard: HostGlob["wildcard"] = "none";
  if (names.startsWith("**.")) {
    wildcard = "many";
    names = names.slice(3);
  } else if (names.startsWith("*.")) {
    wildcard = "one";
    names = names.slice(2);
  }
  const labels = parseLabels(names);
  if (labels === undefined) return undefined;
  return { wildcard, labels, port };
}

/** formatHostGlob writes a parsed glob back in its canonical (lowercase) form. */
export function formatHostGlob(glob: HostGlob): string {
  let names: string;
  if (glob.labels.length === 0) names = "*";
  else if (glob.wildcard === "one") names = `*.${glob.labels.join(".")}`;
  else if (glob.wildcard === "many") names = `**.${glob.labels.join(".")}`;
  else names = glob.labels.join(".");
  if (glob.port === "default") return names;
  return `${names}:${glob.port === "any" ? "*" : glob.port}`;
}

/**
 * parseHost parses a concrete host as `URL.host` gives it (`name` or
 * `name:port`), lowercasing it and dropping one trailing dot; undefined when
 * it is malformed (including IPv6 literals).
 */
export function parseHost(text: string): HostName | undefined {
  let lower = text.toLowerCase();
  let port: number | undefined;
  const colon = lower.indexOf(":");
  if (colon >= 0) {
    port = parsePort(lower.slice(colon + 1));
    if (port === undefined) return undefined;
    lower = lower.slice(0, colon);
  }
  if (lower.endsWith(".")) lower = lower.slice(0, -1);
  const labels = parseLabels(lower);
  if (labels === undefined) return undefined;
  return { labels, port, key: port === undefined ? lower : `${lower}:${port}` };
}

function endsWithLabels(labels: readonly string[], suffix: readonly string[]): boolean {
  const offset = labels.length - suffix.length;
  if (offset < 0) return false;
  for (let i = 0; i < suffix.length; i++) if (labels[offset + i] !== suffix[i]) return false;
  return true;
}

/** hostGlobMatches says whether a parsed glob matches a parsed host. */
export function hostGlobMatches(glob: HostGlob, host: HostName): boolean {
  if (glob.port === "default" ? host.port !== undefined : glob.port !== "any" && glob.port !== host.port) return false;
  const extra = host.labels.length - glob.labels.length;
  if (glob.wildcard === "none" ? extra !== 0 : glob.wildcard === "one" ? extra !== 1 : extra < 1) return false;
  return endsWithLabels(host.labels, glob.labels);
}

/**
 * matchHostGlob says whether `host` (as `URL.host` gives it) matches `glob`;
 * case-insensitive and port-aware. A malformed glob or host matches nothing.
 */
export function matchHostGlob(glob: string, host: string): boolean {
  const g = parseHostGlob(glob);
  const h = parseHost(host);
  return g !== undefined && h !== undefined && hostGlobMatches(g, h);
}

/** matchAnyHostGlob says whether `host` matches at least one of `globs` (an `allowed_hosts` list). */
export function matchAnyHostGlob(globs: readonly string[], host: string): boolean {
  const h = parseHost(host);
  if (h === undefined) return false;
  for (const text of globs) {
    const g = parseHostGlob(text);
    if (g !== undefined && hostGlobMatches(g, h)) return true;
  }
  return false;
}

function portCovers(parent: HostGlob["port"], child: HostGlob["port"]): boolean {
  return parent === "any" || parent === child;
}

function labelsCover(parent: HostGlob, child: HostGlob): boolean {
  const p = parent.labels;
  const c = child.labels;
  switch (parent.wildcard) {
    case "none":
      return child.wildcard === "none" && c.length === p.length && endsWithLabels(c, p);
    case "one":
      // An exact name one label longer, or the same `*.` suffix.
      if (child.wildcard === "none") return c.length === p.length + 1 && endsWithLabels(c, p);
      return child.wildcard === "one" && c.length === p.length && endsWithLabels(c, p);
    case "many":
      // Whatever child matches has at least one label before p.
      if (child.wildcard === "none") return c.length > p.length && endsWithLabels(c, p);
      return endsWithLabels(c, p);
  }
}

/**
 * hostGlobCovers says whether every host `child` matches is also matched by
 * `parent` (`a.example.com` ⊆ `*.example.com` ⊆ `**.example.com`; not the
 * other way round; `x:8443` ⊆ `x:*`; `x` ⊄ `x:8443`).
 */
export function hostGlobCovers(parent: HostGlob, child: HostGlob): boolean {
  return portCovers(parent.port, child.port) && labelsCover(parent, child);
}

/**
 * intersectHostGlobs answers the glob matching exactly the hosts both globs
 * match, or undefined when they share none. With this grammar two name
 * patterns either nest or are disjoint, so the intersection is always one glob.
 */
export function intersectHostGlobs(a: HostGlob, b: HostGlob): HostGlob | undefined {
  let port: HostGlob["port"];
  if (portCovers(a.port, b.port)) port = b.port;
  else if (portCovers(b.port, a.port)) port = a.port;
  else return undefined;
  let names: HostGlob;
  if (labelsCover(a, b)) names = b;
  else if (labelsCover(b, a)) names = a;
  else return undefined;
  return { wildcard: names.wildcard, labels: names.labels, port };
}
