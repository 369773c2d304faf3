// One request chain: its first request, then page after page as its own paginator says.
import type { PlannedPaginator, PlannedResource } from "../plan/index.ts";
import { RestloadError } from "../errors.ts";
import { toJson } from "../util/json.ts";
import type { Authenticator } from "./http/auth/index.ts";
import type { FetchResult, HttpClient } from "./http/client.ts";
import type { HttpRequest } from "./http/request.ts";
import { type Page, type Paginator, type RequestState, createPaginator } from "./paginate/index.ts";
import type { RemainingPages } from "./paginate/types.ts";
import { selectRecords } from "./select.ts";
import { missesRecords, selectorPathFound, unmatchedSelectorError } from "./unmatched-selector.ts";

export interface ChainPage {
  readonly kind: "chain";
  /** 1 for the first page of the chain. */
  readonly number: number;
  readonly records: readonly unknown[];
  readonly status: number;
  readonly url: URL;
  /** The data selector used (detected when the resource sets none). */
  readonly selector: string;
  /** The paginator in effect (detected when `auto`). */
  readonly paginator: PlannedPaginator;
  readonly body: unknown;
}

export interface ChainOptions {
  readonly client: HttpClient;
  readonly auth: Authenticator | null;
  /** Stop after this many pages (`--max-pages`, `check --probe`). */
  readonly maxPages?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** How the first URL was reached, for origin errors. */
  readonly via?: string;
  /** Request the next page while the caller handles this one (off when the caller may stop early). */
  readonly prefetch?: boolean;
  /** Shared by every chain of the resource (each parent's, each window's) for the whole run. */
  readonly selectorCheck: SelectorCheck;
}

/** Whether the path of a resource's data_selector has been found in any of its responses. */
export interface SelectorCheck {
  found: boolean;
}

/**
 * Walks `resource`'s chain from `first`, yielding each page's records. A response matching a
 * response action ends the chain quietly. Pages are fetched one after another: the next request
 * depends on the page before it.
 */
export async function* walkChain(resource: PlannedResource, first: RequestState, options: ChainOptions): AsyncGenerator<ChainPage> {
  const paginator: Paginator = createPaginator(resource.paginator);
  let selector = resource.data_selector;
  const fetchPage = (request: RequestState, number: number) => {
    const pending = options.client.fetchJson(toHttpRequest(request), {
      resource: resource.name,
      what: `page ${number}`,
      via: number === 1 ? (options.via ?? "the request") : "the next page link",
      auth: options.auth,
      responseActions: resource.response_actions,
      signal: options.signal,
    });
    // Awaited on the next turn; until then a failure must not count as unhandled.
    pending.catch(() => {});
    return { request, pending };
  };
  // Every request of the chain, by what it asks for: an API whose next link or cursor comes back
  // again would otherwise be walked forever, staging the same rows each time.
  const requested = new Map<string, number>();
  const chainPage = (
    number: number,
    fetched: Pick<ChainPage, "status" | "url" | "body">,
    selected: Pick<ChainPage, "records" | "selector">,
  ): ChainPage => ({
    kind: "chain",
    number,
    records: selected.records,
    status: fetched.status,
    url: fetched.url,
    selector: selected.selector,
    paginator: paginator.describe(),
    body: fetched.body,
  });
  const ask = (request: RequestState, number: number) => {
    const identity = `${request.method} ${request.url.href}\n${request.json === undefined ? "" : toJson(request.json)}\n${request.data ?? ""}`;
    const earlier = requested.get(identity);
    if (earlier !== undefined) {
      throw new RestloadError(
        "E_PAGINATE",
        `Cannot follow the pages of resource "${resource.name}": page ${number} would repeat the request of page ${earlier} (${options.client.describe(toHttpRequest(request))}), so the API's next page never ends`,
        {
          hint: "Check the paginator and its paths (next_url_path, cursor_path, cursor_param): the API may name its next page another way. The unit rolled back.",
          context: { resource: resource.name, url: options.client.redact(request.url) },
        },
      );
    }
    requested.set(identity, number);
    return fetchPage(request, number);
  };
  // Once the selector's path has been in a response of this resource (any chain) it is right: a
  // later response without it is an empty page (APIs leave the key out when there is nothing, or
  // answer past the last page with another body). Until then, a response without it that holds
  // records fails the unit (E_DATA). A wildcard or slice after the path may match nothing.
  const check = options.selectorCheck;
  const select = (body: unknown, number: number, request: RequestState) => {
    const selected = selectRecords(body, selector);
    const found = selectorPathFound(body, selected.selector);
    if (found === true) check.found = true;
    else if (found === false && !check.found && missesRecords(body)) {
      throw unmatchedSelectorError({
        resource: resource.name,
        selector: selected.selector,
        detected: resource.data_selector === null,
        page: number,
        request: options.client.describe(toHttpRequest(request)),
        url: options.client.redact(request.url),
        body,
      });
    }
    return selected;
  };
  let inFlight: { request: RequestState; pending: ReturnType<HttpClient["fetchJson"]> } | null = ask(paginator.first(first), 1);
  for (let number = 1; inFlight !== null; number++) {
    const { request } = inFlight;
    const result = await inFlight.pending;
    if (result.kind === "ignored") return;
    const selected = select(result.body, number, request);
    // The selector detected on the first page holds for the whole chain.
    selector ??= selected.selector;
    const page: Page = {
      request,
      url: result.url,
      status: result.status,
      headers: result.headers,
      body: result.body,
      records: selected.records,
    };
    // A known total on the first page: the remaining pages are fetched concurrently, in order.
    const rest = number === 1 && options.maxPages === undefined && options.prefetch !== false ? paginator.rest?.(page) : undefined;
    if (rest) {
      yield chainPage(number, result, selected);
      yield* fetchConcurrently(rest, fetchPage, (fetched, at, asked) => chainPage(at, fetched, select(fetched.body, at, asked)));
      return;
    }
    // next() runs even on the last allowed page: it detects an `auto` paginator and checks the stop rules.
    const following = paginator.next(page);
    // The next page is requested before this one is handed on, so the API works while the
    // caller normalises: at most one page ahead, which bounds memory.
    const more = following !== null && (options.maxPages === undefined || number < options.maxPages);
    const prefetch = options.prefetch !== false;
    inFlight = more && prefetch ? ask(following, number + 1) : null;
    yield chainPage(number, result, selected);
    if (more && !prefetch) inFlight = ask(following, number + 1);
  }
}

/** How many pages of a known total are requested at once (the client's limiter caps them too). */
const pagesAhead = 8;

async function* fetchConcurrently(
  remaining: RemainingPages,
  fetchPage: (request: RequestState, number: number) => { request: RequestState; pending: Promise<FetchResult> },
  toPage: (result: Extract<FetchResult, { kind: "page" }>, number: number, request: RequestState) => ChainPage,
): AsyncGenerator<ChainPage> {
  const inFlight: { request: RequestState; pending: Promise<FetchResult>; number: number }[] = [];
  let number = 1;
  let exhausted = false;
  const fill = () => {
    while (!exhausted && inFlight.length < pagesAhead) {
      const request = remaining.next();
      if (request === null) {
        exhausted = true;
        break;
      }
      number++;
      inFlight.push({ ...fetchPage(request, number), number });
    }
  };
  fill();
  while (inFlight.length > 0) {
    const { pending, number: at, request } = inFlight.shift()!;
    const result = await pending;
    if (result.kind === "ignored") {
      fill();
      continue;
    }
    const page = toPage(result, at, request);
    // An empty page ends the walk (as it would walking page by page); pages already requested still come.
    if (remaining.stopAfterEmptyPage && page.records.length === 0) exhausted = true;
    fill();
    yield page;
  }
}

/** Serializes a chain request for the wire. */
export function toHttpRequest(request: RequestState): HttpRequest {
  if (request.json !== undefined)
    return { method: request.method, url: request.url, headers: { ...request.headers }, body: toJson(request.json) };
  if (request.data !== undefined) {
    return {
      method: request.method,
      url: request.url,
      headers: { ...request.headers },
      body: request.data,
      // The request builder put a table's form Content-Type in the headers; a string has none.
      contentType: null,
    };
  }
  return { method: request.method, url: request.url, headers: { ...request.headers } };
}
