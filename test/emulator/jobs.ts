/**
 * The emulator's background work (status transitions, exports, imports): every timer and promise is
 * tracked so stop() can cancel timers and wait for work in progress before the temp folder goes.
 */
export class Jobs {
  private readonly timers = new Map<NodeJS.Timeout, (() => void | Promise<void>) | undefined>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  /**
   * Run `fn` after `ms` milliseconds (errors go to the log). `onCancel` runs instead when the
   * emulator stops first (to release what `fn` would have released).
   */
  after(ms: number, fn: () => void | Promise<void>, onCancel?: () => void | Promise<void>): void {
    if (this.stopped) {
      void onCancel?.();
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.track(Promise.resolve().then(fn));
    }, ms);
    this.timers.set(t, onCancel);
  }

  /** Keep `work` in the set that stop() waits for. */
  track(work: Promise<void>, onError: (err: unknown) => void = logError): void {
    const p: Promise<void> = work.catch(onError).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const [t, onCancel] of this.timers) {
      clearTimeout(t);
      const cancelled = onCancel?.();
      if (cancelled) this.track(cancelled);
    }
    this.timers.clear();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}

function logError(err: unknown): void {
  process.stderr.write(`scw emulator: background job failed: ${err instanceof Error ? err.stack : String(err)}\n`);
}
