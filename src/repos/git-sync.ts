import fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addRemote, fetch as gitFetch, init as gitInit, readBlob, readObject, readTree, type CommitObject, type HttpClient, type TagObject } from "isomorphic-git";
import { DomainError, invalidArgument } from "../domain/errors.js";
import { defaultMaxMacroBytes } from "../domain/macro-check.js";
import { guardedFetch } from "../net/guarded-fetch.js";
import type { Resolver, UrlPolicy } from "../net/url-guard.js";
import { extractPack, scanPack } from "./pack-scan.js";

/**
 * Fetching a repo's macro files: a shallow (depth 1) fetch of one ref with
 * isomorphic-git, every HTTP request of the smart-HTTP protocol made through
 * guardedFetch (so the URL guard checks each request and redirect, and each
 * response is capped), into a temporary git folder removed afterwards. The
 * pack is checked (pack-scan.ts) before the git client unpacks it, and the
 * files collected are capped in number and size.
 */

/** SyncLimits bound one repo fetch. */
export interface SyncLimits {
  /** maxPackBytes caps every HTTP response: the ref advertisement and the pack. */
  maxPackBytes: number;
  /** maxObjects caps the number of objects in the pack. */
  maxObjects: number;
  /** maxObjectBytes caps each object once inflated (any file of the repo, not only macros). */
  maxObjectBytes: number;
  /** maxInflatedBytes caps the whole pack once inflated. */
  maxInflatedBytes: number;
  /** maxFiles caps the number of `*.js` files under `path`. */
  maxFiles: number;
  /** maxFileBytes caps each `*.js` file (the macro size limit). */
  maxFileBytes: number;
  /** timeoutMs bounds the whole fetch. */
  timeoutMs: number;
  /** maxRedirects is how many redirects each request may follow. */
  maxRedirects: number;
}

/** defaultSyncLimits are the caps of SyncRepo. */
export const defaultSyncLimits: Readonly<SyncLimits> = Object.freeze({
  maxPackBytes: 20 * 1024 * 1024,
  maxObjects: 50_000,
  maxObjectBytes: 20 * 1024 * 1024,
  maxInflatedBytes: 128 * 1024 * 1024,
  maxFiles: 500,
  maxFileBytes: defaultMaxMacroBytes,
  timeoutMs: 60_000,
  maxRedirects: 5,
});

/** RepoFile is one `*.js` file of the fetched commit. */
export interface RepoFile {
  /** path is the file's path from the repository's root (`macros/sum.js`). */
  path: string;
  /** content is the file's bytes. */
  content: Buffer;
}

/** FetchedRepo is what a fetch found. */
export interface FetchedRepo {
  /** commit is the fetched commit's id (40 hex digits). */
  commit: string;
  /** files are the `*.js` files under the path, sorted by path. */
  files: RepoFile[];
}

/** FetchRepoOptions say what to fetch and under which policy. */
export interface FetchRepoOptions {
  /** url is the repository's URL (already checked statically; every request is checked again). */
  url: string;
  /** ref is a branch or tag; empty fetches the remote's HEAD. */
  ref: string;
  /** path is the folder whose `*.js` files are collected (no leading or trailing `/`); empty is the root. */
  path: string;
  /** policy is the URL policy every request passes. */
  policy: UrlPolicy;
  /** limits override defaultSyncLimits. */
  limits?: Partial<SyncLimits>;
  /** signal aborts the fetch. */
  signal?: AbortSignal;
  /** resolve answers a name's addresses (tests). */
  resolve?: Resolver;
  /** tempRoot is the folder the temporary git folder is made in (default: the system's temp folder). */
  tempRoot?: string;
}

async function collectBody(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | undefined): Promise<Buffer | undefined> {
  if (body === undefined) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function* once(buffer: Buffer): AsyncIterableIterator<Uint8Array> {
  yield new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** errorOfGit maps an isomorphic-git failure to a domain error (the original kept as cause). */
function errorOfGit(err: unknown): DomainError {
  const code = (err as { code?: unknown }).code;
  const data = (err as { data?: Record<string, unknown> }).data ?? {};
  let mapped: DomainError;
  switch (code) {
    case "NotFoundError":
      mapped = invalidArgument("ref", `${String(data.what ?? "the ref")} was not found in the repository`);
      break;
    case "HttpError": {
      const status = Number(data.statusCode);
      mapped =
        status >= 500
          ? new DomainError("unavailable", "UNAVAILABLE", `the git server answered ${status}`)
          : invalidArgument("url", `the git server answered ${status} ${String(data.statusMessage ?? "")}`.trim());
      break;
    }
    case "SmartHttpError":
      mapped = invalidArgument("url", "is not a git smart-HTTP repository");
      break;
    case "RemoteCapabilityError":
      mapped = invalidArgument("url", "the git server does not support shallow fetches");
      break;
    default:
      mapped = new DomainError("unavailable", "UNAVAILABLE", "could not fetch the repository");
  }
  mapped.cause = err;
  return mapped;
}

/**
 * fetchRepoFiles fetches `ref` of the repository at depth 1 and answers the
 * commit and every `*.js` file under `path`. Hidden files and folders (a
 * name starting with `.`), symbolic links and submodules are skipped.
 *
 * Errors: INVALID_ARGUMENT (the ref or path is not in the repository, the
 * repository is empty or not a git repository, the pack or a file is over
 * the caps, more than maxFiles files — field names the cause);
 * PERMISSION_DENIED NETWORK_NOT_ALLOWED (a request or redirect the URL guard
 * refuses); UNAVAILABLE (the server can't be reached, fails, or is too slow).
 */
export async function fetchRepoFiles(options: FetchRepoOptions): Promise<FetchedRepo> {
  const limits: SyncLimits = { ...defaultSyncLimits, ...options.limits };
  const deadline = Date.now() + limits.timeoutMs;
  // The first refusal of our own, kept in case the git client wraps it.
  let refusal: DomainError | undefined;
  const client: HttpClient = {
    async request(req) {
      try {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new DomainError("unavailable", "UNAVAILABLE", `fetching the repository took longer than ${limits.timeoutMs} ms`);
        const res = await guardedFetch(
          req.url,
          { method: req.method, headers: req.headers, body: await collectBody(req.body) },
          {
            ...options.policy,
            maxBytes: limits.maxPackBytes,
            timeoutMs: remaining,
            maxRedirects: limits.maxRedirects,
            signal: options.signal,
            resolve: options.resolve,
          },
        );
        // The only POST of a fetch is git-upload-pack, whose answer the git client unpacks (wherever it was redirected).
        if ((req.method ?? "GET").toUpperCase() === "POST" && res.status === 200) {
          const pack = extractPack(res.body);
          if (pack) scanPack(pack, limits);
        }
        return { url: res.url, method: req.method, statusCode: res.status, statusMessage: res.statusText, headers: res.headers, body: once(res.body) };
      } catch (err) {
        if (err instanceof DomainError) refusal ??= err;
        throw err;
      }
    },
  };

  const gitdir = await mkdtemp(join(options.tempRoot ?? tmpdir(), "gatehouse-repo-"));
  const cache = {};
  try {
    await gitInit({ fs, gitdir, bare: true });
    await addRemote({ fs, gitdir, remote: "origin", url: options.url });
    let fetched: { fetchHead: string | null };
    try {
      fetched = await gitFetch({ fs, http: client, gitdir, cache, remote: "origin", ref: options.ref || "HEAD", singleBranch: true, depth: 1, tags: false });
    } catch (err) {
      throw refusal ?? (err instanceof DomainError ? err : errorOfGit(err));
    }
    if (!fetched.fetchHead) throw invalidArgument("url", "the repository is empty");
    const { commit, tree } = await peelToCommit(gitdir, cache, fetched.fetchHead);
    const root = await subtree(gitdir, cache, tree, options.path);
    const files = await collectFiles(gitdir, cache, root, options.path, limits);
    return { commit, files };
  } finally {
    await rm(gitdir, { recursive: true, force: true });
  }
}

async function peelToCommit(gitdir: string, cache: object, start: string): Promise<{ commit: string; tree: string }> {
  let oid = start;
  for (let depth = 0; depth < 10; depth++) {
    const { type, object } = await readObject({ fs, gitdir, cache, oid, format: "parsed" });
    if (type === "commit") return { commit: oid, tree: (object as CommitObject).tree };
    if (type !== "tag") break;
    oid = (object as TagObject).object;
  }
  throw invalidArgument("ref", "does not name a commit");
}

async function subtree(gitdir: string, cache: object, tree: string, path: string): Promise<string> {
  if (path === "") return tree;
  try {
    const { oid } = await readTree({ fs, gitdir, cache, oid: tree, filepath: path });
    return oid;
  } catch {
    throw invalidArgument("path", "is not a folder of the fetched commit", path);
  }
}

async function collectFiles(gitdir: string, cache: object, root: string, path: string, limits: SyncLimits): Promise<RepoFile[]> {
  const found: Array<{ path: string; oid: string }> = [];
  const stack: Array<{ oid: string; prefix: string }> = [{ oid: root, prefix: path === "" ? "" : `${path}/` }];
  while (stack.length > 0) {
    const { oid, prefix } = stack.pop()!;
    const { tree } = await readTree({ fs, gitdir, cache, oid });
    for (const entry of tree) {
      if (entry.path.startsWith(".")) continue;
      if (entry.type === "tree") stack.push({ oid: entry.oid, prefix: `${prefix}${entry.path}/` });
      else if (entry.type === "blob" && entry.mode !== "120000" && entry.path.endsWith(".js")) {
        found.push({ path: `${prefix}${entry.path}`, oid: entry.oid });
        if (found.length > limits.maxFiles) {
          throw invalidArgument("path", `holds more than ${limits.maxFiles} .js files; the limit is ${limits.maxFiles}`, path);
        }
      }
    }
  }
  found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const files: RepoFile[] = [];
  for (const file of found) {
    const { blob } = await readBlob({ fs, gitdir, cache, oid: file.oid });
    if (blob.length > limits.maxFileBytes) {
      throw new DomainError("invalid_argument", "INVALID_ARGUMENT", `${file.path} is ${blob.length} bytes; the limit is ${limits.maxFileBytes} bytes`, {
        field: "path",
        attemptedValue: file.path,
        violations: [{ line: 0, column: 0, file: file.path, rule: "too-large", message: `file is ${blob.length} bytes; the limit is ${limits.maxFileBytes} bytes` }],
      });
    }
    files.push({ path: file.path, content: Buffer.from(blob) });
  }
  return files;
}
