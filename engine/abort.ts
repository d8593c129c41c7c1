/**
 * Waiting that a stop request cuts short: the engine's long waits (backoff between retries, polls of
 * a Scaleway export that takes hours) end at once when the command's AbortSignal fires, with the
 * signal's reason (an InterruptedError from the CLI), so cleanup starts without waiting them out.
 */

/** Sleep `ms`, or reject with `signal.reason` as soon as it is aborted (at once if it already is). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return new Promise((resolve) => setTimeout(resolve, ms));
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
