/** sessionCookie and csrfCookie are the browser-mode cookie names. */
export const sessionCookie = "gh_session";
export const csrfCookie = "gh_csrf";

/**
 * readCookie answers one cookie's value from a Cookie header. A value whose
 * percent-encoding is broken (`%E0%A4%A`) is answered as sent: our cookies
 * never need decoding, so such a value simply matches no session.
 */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return undefined;
}

/** setCookieHeaders renders the Set-Cookie values of a browser login (or their removal). */
export function setCookieHeaders(input: { session: string; csrf: string; maxAgeSeconds: number; secure: boolean } | { clear: true; secure: boolean }): string[] {
  const secure = input.secure ? "; Secure" : "";
  if ("clear" in input) {
    return [
      `${sessionCookie}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure}`,
      `${csrfCookie}=; Path=/; SameSite=Strict; Max-Age=0${secure}`,
    ];
  }
  return [
    `${sessionCookie}=${input.session}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${input.maxAgeSeconds}${secure}`,
    `${csrfCookie}=${input.csrf}; Path=/; SameSite=Strict; Max-Age=${input.maxAgeSeconds}${secure}`,
  ];
}
