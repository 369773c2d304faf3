// Time as the extract stage sees it: injectable, so tests of backoff and rate limits do not wait.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A number in [0, 1) for jitter. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  random: () => Math.random(),
  sleep: (ms, signal) =>
    new Promise<void>((done, fail) => {
      if (signal?.aborted) return fail(signal.reason);
      const timer = setTimeout(
        () => {
          signal?.removeEventListener("abort", onAbort);
          done();
        },
        Math.max(0, ms),
      );
      const onAbort = () => {
        clearTimeout(timer);
        fail(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};
