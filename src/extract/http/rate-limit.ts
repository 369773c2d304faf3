// Reads rate-limit headers: GitHub-style X-RateLimit-*, and the IETF RateLimit fields (both drafts).

/**
 * Milliseconds from `now` until the host may be called again, when the response says the budget
 * is spent (remaining 0); undefined otherwise.
 *
 * - `X-RateLimit-Remaining: 0` + `X-RateLimit-Reset: <epoch seconds>` (GitHub)
 * - `RateLimit-Remaining: 0` + `RateLimit-Reset: <delta seconds>` (IETF draft, separate fields)
 * - `RateLimit: limit=100, remaining=0, reset=30` and `RateLimit: "default";r=0;t=30` (IETF drafts)
 */
export function rateLimitPauseMs(headers: Headers, now: number): number | undefined {
  const githubRemaining = headers.get("x-ratelimit-remaining");
  const githubReset = headers.get("x-ratelimit-reset");
  if (githubRemaining?.trim() === "0" && githubReset && /^\d+$/.test(githubReset.trim())) {
    const reset = Number(githubReset.trim());
    // Some APIs send a delta here instead of an epoch: small numbers are deltas.
    return Math.max(0, reset > 1e9 ? reset * 1000 - now : reset * 1000);
  }
  const remaining = headers.get("ratelimit-remaining");
  const reset = headers.get("ratelimit-reset");
  if (remaining?.trim() === "0" && reset && /^\d+$/.test(reset.trim())) return Number(reset.trim()) * 1000;
  const combined = headers.get("ratelimit");
  if (combined) {
    const r = /(?:^|[;,\s])(?:remaining=|r=)(\d+)/.exec(combined)?.[1];
    const t = /(?:^|[;,\s])(?:reset=|t=)(\d+)/.exec(combined)?.[1];
    if (r === "0" && t !== undefined) return Number(t) * 1000;
  }
  return undefined;
}
