// A clock for tests of backoff and rate limits: sleeping moves its time forward instead of waiting.
import type { Clock } from "../../src/extract/clock.ts";

/**
 * A clock that never waits: sleeping moves its time forward. `slept` records every wait, so a
 * test can assert that a `Retry-After: 2` made the client wait at least 2 s.
 */
export function fakeClock(start = Date.UTC(2026, 0, 1), random = () => 0.5): Clock & { slept: number[]; advance(ms: number): void } {
  let time = start;
  const slept: number[] = [];
  return {
    slept,
    advance: (ms) => {
      time += ms;
    },
    now: () => time,
    random,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      slept.push(ms);
      time += Math.max(0, ms);
    },
  };
}
