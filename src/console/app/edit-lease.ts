import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Lock } from "../../../gen/gatehouse/v1/locks_pb.js";
import { csrfCookie, readCookie } from "../../auth/cookies.js";
import type { Api } from "./api.js";

/**
 * An editing lease that follows the person: taken when they press "Edit",
 * refreshed while the tab is visible, given back on "Done", when they leave
 * the editor, and when the page goes away (`pagehide`: tab closed, reload,
 * another address). A tab that crashes, or is killed, sends nothing: its
 * lease runs out at its expiry.
 */
export interface EditLease {
  /** lock answers the lock while the caller holds it. */
  lock(): Lock | undefined;
  /** take acquires the lock (throws the refusal, with the holder when someone else has it). */
  take(): Promise<Lock | undefined>;
  /** release gives the lock back (errors ignored: it lapses anyway). */
  release(): Promise<void>;
  /** dispose releases the lock and stops listening to the page. */
  dispose(): Promise<void>;
}

export interface EditLeaseOptions {
  api: Api;
  roomId: string;
  target: string;
  /** ttlSeconds answers the lease to ask for (undefined: the server's default). */
  ttlSeconds(): number | undefined;
  /** onChange runs after the lock was taken, refreshed, released or lost (`lost` is the refusal). */
  onChange(lock: Lock | undefined, event: "taken" | "refreshed" | "released" | "lost", lost?: unknown): void;
}

/**
 * releaseOnUnload gives a lock back while the page is going away. It uses
 * `fetch` with `keepalive` (the request outlives the page) rather than
 * `navigator.sendBeacon`, which cannot send the `x-csrf-token` header the
 * server requires on cookie calls that change anything. Connect's JSON
 * protocol, so no client library is needed at that moment.
 */
export function releaseOnUnload(roomId: string, target: string): void {
  const csrf = readCookie(document.cookie, csrfCookie);
  const headers: Record<string, string> = { "content-type": "application/json", "connect-protocol-version": "1" };
  if (csrf) headers["x-csrf-token"] = csrf;
  void fetch(`${location.origin}/gatehouse.v1.LocksService/ReleaseLock`, {
    method: "POST",
    keepalive: true,
    credentials: "same-origin",
    headers,
    body: JSON.stringify({ roomId, target }),
  }).catch(() => undefined);
}

/** createEditLease builds an EditLease for one target; nothing is taken until take(). */
export function createEditLease(options: EditLeaseOptions): EditLease {
  const { api, roomId, target } = options;
  let lock: Lock | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;

  const visible = () => document.visibilityState === "visible";

  const schedule = () => {
    clearTimeout(timer);
    timer = undefined;
    if (!lock?.expiresAt || disposed || !visible()) return;
    // Refresh at a third of the lease, so two refreshes can fail before it lapses.
    const leaseMs = timestampDate(lock.expiresAt).getTime() - Date.now();
    timer = setTimeout(() => void refresh(), Math.max(1000, leaseMs / 3));
  };

  const refresh = async () => {
    const held = lock;
    if (!held || disposed) return;
    try {
      const res = await api.locks.refreshLock({ roomId, target, ttlSeconds: options.ttlSeconds() });
      if (lock !== held) return; // released (or taken anew) meanwhile
      lock = res.lock;
      schedule();
      options.onChange(lock, "refreshed");
    } catch (err) {
      if (lock !== held) return; // "Done" raced the refresh: nothing was lost
      lock = undefined;
      clearTimeout(timer);
      options.onChange(undefined, "lost", err);
    }
  };

  const onVisibility = () => {
    if (!lock) return;
    // Hidden: stop refreshing (the lease runs on to its expiry). Visible again: refresh at once.
    if (visible()) void refresh();
    else clearTimeout(timer);
  };
  const onPageHide = () => {
    if (!lock) return;
    releaseOnUnload(roomId, target);
    lock = undefined;
    clearTimeout(timer);
  };
  const onPageShow = (ev: PageTransitionEvent) => {
    // Back from the back-forward cache: the lock was given back on pagehide.
    if (ev.persisted && !disposed) options.onChange(undefined, "released");
  };
  document.addEventListener("visibilitychange", onVisibility);
  window.addEventListener("pagehide", onPageHide);
  window.addEventListener("pageshow", onPageShow);

  const release = async () => {
    clearTimeout(timer);
    const had = lock;
    lock = undefined;
    if (had) {
      options.onChange(undefined, "released");
      await api.locks.releaseLock({ roomId, target }).catch(() => undefined);
    }
  };

  return {
    lock: () => lock,
    async take() {
      const res = await api.locks.acquireLock({ roomId, target, ttlSeconds: options.ttlSeconds() });
      if (disposed) {
        // The editor was left while the lock was being taken: give it straight back.
        await api.locks.releaseLock({ roomId, target }).catch(() => undefined);
        return undefined;
      }
      lock = res.lock;
      schedule();
      options.onChange(lock, "taken");
      return lock;
    },
    release,
    async dispose() {
      disposed = true;
      document.removeEventListener("visibilitychange", onVisibility);
      window.removeEventListener("pagehide", onPageHide);
      window.removeEventListener("pageshow", onPageShow);
      await release();
    },
  };
}
