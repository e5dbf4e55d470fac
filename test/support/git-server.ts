import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A real git smart-HTTP server for tests: a small node:http server on
 * loopback that runs git's own `git http-backend` CGI for each request,
 * serving bare repositories from a temporary folder. Tests push to those
 * repositories through their file path and fetch them over HTTP.
 */

/** gitEnv keeps the machine's and user's git configuration out of the tests. */
const gitEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.invalid",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.invalid",
  GIT_TERMINAL_PROMPT: "0",
};

/** git runs a git command in `cwd` and answers its stdout. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("git", args, { cwd, env: gitEnv, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

/** TestRepo is a bare repository served by the test server, with a working copy to commit from. */
export interface TestRepo {
  /** name is the repository's folder (`name.git`). */
  name: string;
  /** url is the repository's HTTP URL. */
  url: string;
  /**
   * commit writes files (null deletes one), commits everything on `branch`
   * (default main) and pushes it; answers the commit id.
   */
  commit(files: Record<string, string | Buffer | null>, options?: { branch?: string; message?: string }): Promise<string>;
  /** tag tags HEAD (annotated when a message is given) and pushes the tag. */
  tag(name: string, message?: string): Promise<void>;
}

/** GitServer is the running test server. */
export interface GitServer {
  port: number;
  /** base is `http://127.0.0.1:<port>`. */
  base: string;
  /** hostPort is `127.0.0.1:<port>`, to allow explicitly. */
  hostPort: string;
  /** requests counts the HTTP requests served. */
  requests: number;
  /** delayMs delays every response (to hold a sync open). */
  delayMs: number;
  /** redirects maps a request path prefix to a Location answered with 302 instead. */
  redirects: Map<string, string>;
  createRepo(name: string): Promise<TestRepo>;
  close(): Promise<void>;
}

function cgi(root: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://localhost");
  const child = spawn("git", ["http-backend"], {
    env: {
      ...gitEnv,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? "GET",
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      CONTENT_LENGTH: req.headers["content-length"] ?? "",
      REMOTE_ADDR: "127.0.0.1",
      GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
      HTTP_CONTENT_ENCODING: String(req.headers["content-encoding"] ?? ""),
    },
  });
  req.pipe(child.stdin);
  const chunks: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => chunks.push(c));
  child.on("close", () => {
    const out = Buffer.concat(chunks);
    let split = out.indexOf("\r\n\r\n");
    let sepLength = 4;
    if (split < 0) {
      split = out.indexOf("\n\n");
      sepLength = 2;
    }
    if (split < 0) {
      res.writeHead(500).end("bad cgi output");
      return;
    }
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of out.subarray(0, split).toString("latin1").split(/\r?\n/)) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const key = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (key.toLowerCase() === "status") status = parseInt(value, 10);
      else headers[key] = value;
    }
    res.writeHead(status, headers).end(out.subarray(split + sepLength));
  });
}

/** startGitServer starts the server on 127.0.0.1 (a free port) over a fresh folder of bare repositories. */
export async function startGitServer(): Promise<GitServer> {
  const root = mkdtempSync(join(tmpdir(), "gatehouse-git-"));
  const work = mkdtempSync(join(tmpdir(), "gatehouse-gitwork-"));
  const state = { requests: 0, delayMs: 0, redirects: new Map<string, string>() };
  const server = http.createServer((req, res) => {
    state.requests += 1;
    const go = () => {
      for (const [prefix, location] of state.redirects) {
        if ((req.url ?? "").startsWith(prefix)) {
          req.resume();
          res.writeHead(302, { location }).end();
          return;
        }
      }
      cgi(root, req, res);
    };
    if (state.delayMs > 0) setTimeout(go, state.delayMs);
    else go();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  const result: GitServer = {
    port,
    base,
    hostPort: `127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    set requests(n: number) {
      state.requests = n;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(n: number) {
      state.delayMs = n;
    },
    redirects: state.redirects,
    async createRepo(name) {
      const bare = join(root, `${name}.git`);
      await run("git", ["init", "--bare", "-q", "-b", "main", bare], { env: gitEnv });
      const wc = join(work, name);
      await run("git", ["init", "-q", "-b", "main", wc], { env: gitEnv });
      await git(wc, "remote", "add", "origin", bare);
      let branch = "main";
      return {
        name,
        url: `${base}/${name}.git`,
        async commit(files, options = {}) {
          const wanted = options.branch ?? "main";
          if (wanted !== branch) {
            await git(wc, "checkout", "-q", "-B", wanted);
            branch = wanted;
          }
          for (const [path, content] of Object.entries(files)) {
            const full = join(wc, path);
            if (content === null) rmSync(full, { force: true });
            else {
              mkdirSync(dirname(full), { recursive: true });
              writeFileSync(full, content);
            }
          }
          await git(wc, "add", "-A");
          await git(wc, "commit", "-q", "--allow-empty", "-m", options.message ?? "change");
          await git(wc, "push", "-q", "origin", `HEAD:refs/heads/${wanted}`);
          return git(wc, "rev-parse", "HEAD");
        },
        async tag(tagName, message) {
          if (message) await git(wc, "tag", "-a", tagName, "-m", message);
          else await git(wc, "tag", tagName);
          await git(wc, "push", "-q", "origin", `refs/tags/${tagName}`);
        },
      };
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      rmSync(root, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    },
  };
  return result;
}

/** ConnectionCounter is a TCP server that counts the connections made to it (and closes each). */
export interface ConnectionCounter {
  port: number;
  connections: number;
  close(): Promise<void>;
}

/** startConnectionCounter listens on 127.0.0.1 (a free port) and counts every connection. */
export async function startConnectionCounter(): Promise<ConnectionCounter> {
  const state = { connections: 0 };
  const server = net.createServer((socket) => {
    state.connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return state.connections;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
