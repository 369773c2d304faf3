// `header_cursor`: a response header carries the cursor (`cursor_key`), sent back as `cursor_param`.
import { withQueryParam } from "./_request.ts";
import type { Paginator } from "./types.ts";

export function headerCursorPaginator(cursorKey: string, cursorParam: string): Paginator {
  return {
    first: (request) => request,
    next: (page) => {
      const cursor = page.headers.get(cursorKey);
      return cursor ? withQueryParam(page.request, cursorParam, cursor) : null;
    },
    describe: () => ({ type: "header_cursor", cursor_key: cursorKey, cursor_param: cursorParam }),
  };
}
