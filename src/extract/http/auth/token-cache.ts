// An OAuth access token kept until shortly before it expires, fetched once for all concurrent requests.

/**
 * How long before its expiry a token is renewed: a tenth of its life but at least a second (so a
 * stall of a few hundred milliseconds never sends an expired token), never more than half its life,
 * at most a minute. A 1-hour token is renewed a minute early, a 2-second one after 1 s, a 1-second
 * one after 0.5 s.
 */
export function renewalMarginMs(lifetimeMs: number): number {
  return Math.min(60_000, lifetimeMs / 2, Math.max(lifetimeMs / 10, 1000));
}

export interface FetchedToken {
  readonly value: string;
  readonly lifetimeMs: number;
}

/**
 * Fetches a token. It runs detached from the requests waiting for it: a request that is stopped
 * (SIGTERM, a failed sibling) stops waiting, the fetch goes on. `begin()` marks the point of no
 * return (a refresh grant about to be sent: the endpoint may spend the refresh token) and returns
 * false when nobody waits any more, so nothing is sent for no one; from then on the waiting
 * requests wait for the answer even when stopped, so the process does not end before a rotated
 * refresh token is kept.
 */
export type TokenFetch = (begin: () => boolean) => Promise<FetchedToken>;

/** Thrown by a fetch whose `begin()` returned false; nobody sees it. */
export class NobodyWaits extends Error {
  override readonly name = "NobodyWaits";
}

interface Flight {
  promise: Promise<string>;
  waiters: number;
  begun: boolean;
}

export class AccessTokenCache {
  private token: { value: string; renewAt: number } | undefined;
  private flight: Flight | undefined;

  constructor(
    private readonly fetchToken: TokenFetch,
    private readonly now: () => number,
  ) {}

  /** The cached token while it has more than its margin left, else a fresh one. */
  current(signal?: AbortSignal): Promise<string> {
    const token = this.token;
    if (token && this.now() < token.renewAt) return Promise.resolve(token.value);
    // Concurrent requests share one token request.
    const flight = this.flight ?? this.start();
    // Counted before the fetch can ask (it starts a microtask later).
    flight.waiters++;
    if (!signal) return flight.promise;
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => {
        if (flight.begun) return;
        flight.waiters--;
        reject(signal.reason);
      };
      if (signal.aborted) {
        onAbort();
        if (!flight.begun) return;
      } else signal.addEventListener("abort", onAbort, { once: true });
      flight.promise.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      );
    });
  }

  /**
   * After a 401 for `rejected` (the token the refused request carried): drops the cached token if
   * it is still that one, so the next request fetches a new one. A 401 that arrives late, for a
   * token already replaced, leaves the fresh one alone.
   */
  invalidate(rejected: string | undefined): void {
    if (this.token !== undefined && this.token.value === rejected) this.token = undefined;
  }

  // internal

  /** A new fetch; it starts on the next microtask, once its first waiter is counted. */
  private start(): Flight {
    // The lifetime counts from the request, not the answer: the endpoint's clock started then.
    const requestedAt = this.now();
    const flight: Flight = { promise: Promise.resolve(""), waiters: 0, begun: false };
    this.flight = flight;
    const begin = () => {
      if (flight.waiters === 0) return false;
      flight.begun = true;
      return true;
    };
    flight.promise = Promise.resolve()
      .then(() => this.fetchToken(begin))
      .then((fetched) => {
        this.token = { value: fetched.value, renewAt: requestedAt + fetched.lifetimeMs - renewalMarginMs(fetched.lifetimeMs) };
        return fetched.value;
      })
      .finally(() => {
        if (this.flight === flight) this.flight = undefined;
      });
    // Every waiter may have stopped waiting: a failure nobody awaits is not an unhandled rejection.
    flight.promise.catch(() => {});
    return flight;
  }
}

/** The token of an `Authorization: Bearer …` header, as a 401's request carried it. */
export function bearerOf(headers: Readonly<Record<string, string>>): string | undefined {
  const header = headers.authorization;
  return header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : undefined;
}
