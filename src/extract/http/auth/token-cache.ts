// An OAuth access token kept until shortly before it expires, fetched once for all concurrent requests.

/**
 * How long before its expiry a token is renewed: a tenth of its life, at most a minute. A token of
 * an hour is renewed a minute early; one of 2 s after 1.8 s, so it is not fetched for every request.
 */
export function renewalMarginMs(lifetimeMs: number): number {
  return Math.min(60_000, lifetimeMs / 10);
}

export interface FetchedToken {
  readonly value: string;
  readonly lifetimeMs: number;
}

export class AccessTokenCache {
  private token: { value: string; renewAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly fetchToken: (signal?: AbortSignal) => Promise<FetchedToken>,
    private readonly now: () => number,
  ) {}

  /** The cached token while it has more than its margin left, else a fresh one. */
  current(signal?: AbortSignal): Promise<string> {
    const token = this.token;
    if (token && this.now() < token.renewAt) return Promise.resolve(token.value);
    // Concurrent requests share one token request.
    this.pending ??= this.fetch(signal).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Drops the cached token (after a 401): the next request fetches a new one. */
  invalidate(): void {
    this.token = undefined;
  }

  private async fetch(signal?: AbortSignal): Promise<string> {
    // The lifetime counts from the request, not the answer: the endpoint's clock started then.
    const requestedAt = this.now();
    const fetched = await this.fetchToken(signal);
    this.token = { value: fetched.value, renewAt: requestedAt + fetched.lifetimeMs - renewalMarginMs(fetched.lifetimeMs) };
    return fetched.value;
  }
}
