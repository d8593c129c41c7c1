/**
 * Time as the engine reads it, injectable so tests can shift it (a host whose clock is hours off, a
 * process paused for half an hour) without sleeping.
 *
 * Two different clocks matter for locks (FORMAT.md §9): the *store's* clock, which stamps every
 * object it stores (Backend.now(), object `modified` times) and is the one that judges whether a lock
 * is stale; and this process's own sense of elapsed time, which tells a lock holder how long ago it
 * last refreshed its lock. The holder reads elapsed time from both its monotonic and its wall clock
 * and takes the larger: the monotonic clock ignores wall-clock steps, the wall clock keeps counting
 * through a system suspend (where Linux's CLOCK_MONOTONIC stops).
 */
export interface Clock {
  /** Epoch milliseconds from this machine's wall clock. */
  wall(): number;
  /** Milliseconds from an arbitrary origin that never goes backwards (performance.now()). */
  monotonic(): number;
}

export const systemClock: Clock = {
  wall: () => Date.now(),
  monotonic: () => performance.now(),
};

/** A point in this process's time, to measure how long ago something happened on both clocks. */
export interface Instant {
  wall: number;
  monotonic: number;
}

export function instant(clock: Clock): Instant {
  return { wall: clock.wall(), monotonic: clock.monotonic() };
}

/** Milliseconds since `then`: the larger of what the two clocks say (see above). */
export function elapsedSince(clock: Clock, then: Instant): number {
  return Math.max(clock.monotonic() - then.monotonic, clock.wall() - then.wall);
}
