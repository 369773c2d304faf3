// `single_page`: one request, no pagination.
import type { Paginator } from "./types.ts";

export function singlePagePaginator(): Paginator {
  return {
    first: (request) => request,
    next: () => null,
    describe: () => ({ type: "single_page" }),
  };
}
