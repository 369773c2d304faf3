// How long to wait before the next attempt: exponential backoff with full jitter, Retry-After, the cap.

export interface BackoffPolicy {
  /** Seconds; the base of the exponential backoff. */
  readonly backoffFactor: number;
  /** Seconds; no wait is longer. */
  readonly maxRetryDelay: number;
}

/**
 * Milliseconds to wait after failed attempt number `attempt` (1 for the first). Full jitter:
 * a random point in [0, factor * 2^(attempt-1)] s. A `Retry-After` the server sent is honoured
 * as a lower bound, so `Retry-After: 0` never turns into a hot loop, and everything is capped at
 * `maxRetryDelay`.
 */
export function retryDelayMs(attempt: number, policy: BackoffPolicy, random: number, retryAfterMs?: number): number {
  const ceiling = policy.backoffFactor * 1000 * 2 ** (attempt - 1);
  const jittered = random * ceiling;
  const wait = Math.max(jittered, retryAfterMs ?? 0, minimumDelayMs(policy));
  return Math.min(wait, policy.maxRetryDelay * 1000);
}

/** `Retry-After` as milliseconds from `now`: delta seconds or an HTTP-date; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

// internal

/** Even with jitter drawing zero, retries are spaced (100 ms per factor second). */
function minimumDelayMs(policy: BackoffPolicy): number {
  return Math.min(100 * policy.backoffFactor, policy.maxRetryDelay * 1000);
}
