// What a paginator sees and returns: the request of a page chain, and the page it produced.
import type { PlannedPaginator } from "../../plan/index.ts";

/** A request of a page chain; the JSON body stays a value so body-path paginators can set fields in it. */
export interface RequestState {
  readonly method: "GET" | "POST";
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON body, or undefined. */
  readonly json: unknown;
  /** A form or text body (`endpoint.data`), or undefined. */
  readonly data: string | undefined;
}

export interface Page {
  readonly request: RequestState;
  /** The final URL (after redirects). */
  readonly url: URL;
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly records: readonly unknown[];
}

/**
 * Walks one request chain. Each chain has its own paginator object: state never leaks between
 * parent records' chains.
 */
export interface Paginator {
  /** The first request, with the paginator's parameters set (offset=0, limit=…). */
  first(request: RequestState): RequestState;
  /** The request for the page after `page`, or null when the chain is done. */
  next(page: Page): RequestState | null;
  /** What is paginating now; for `auto`, what was detected (after the first page). */
  describe(): PlannedPaginator;
  /**
   * When the first page tells how many there are (a total), the remaining pages' requests, one
   * at a time: they do not depend on each other and may be fetched concurrently.
   */
  rest?(first: Page): RemainingPages | undefined;
}

export interface RemainingPages {
  /** The next page's request, or null when there is none. */
  next(): RequestState | null;
  /** Stop requesting further pages once one comes back empty. */
  readonly stopAfterEmptyPage: boolean;
}
