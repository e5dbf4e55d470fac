/**
 * The calls in flight that fill a screen. Every API call is counted (the
 * client's interceptor in api.ts tracks it), and so is other work a screen
 * waits for (ui.ts: loadInto, progress). The shell shows a new screen once
 * nothing is in flight, so its content does not jump as lists arrive one by
 * one (cumulative layout shift).
 */

const pending = new Set<Promise<unknown>>();

/** track counts `work` as in flight until it settles, and answers it. */
export function track<T>(work: Promise<T>): Promise<T> {
  pending.add(work);
  const done = () => pending.delete(work);
  work.then(done, done);
  return work;
}

/**
 * settled resolves once nothing tracked is in flight (including what tracked
 * work starts when it ends), or after `timeoutMs`.
 */
export async function settled(timeoutMs = 1500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (pending.size === 0) {
      // Work that just ended may start the next (a room list, then its macros).
      await new Promise((r) => setTimeout(r, 0));
      if (pending.size === 0) return;
    }
    const left = deadline - Date.now();
    if (left <= 0) return;
    await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, left))]);
  }
}
