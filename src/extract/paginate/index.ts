// A fresh paginator object per request chain, from its planned configuration.
import type { PlannedPaginator } from "../../plan/index.ts";
import { cursorPaginator } from "./cursor.ts";
import { detectPaginator } from "./detect.ts";
import { headerCursorPaginator } from "./header-cursor.ts";
import { headerLinkPaginator } from "./header-link.ts";
import { jsonLinkPaginator } from "./json-link.ts";
import { offsetPaginator } from "./offset.ts";
import { pageNumberPaginator } from "./page-number.ts";
import { singlePagePaginator } from "./single-page.ts";
import type { Paginator } from "./types.ts";

export type { Page, Paginator, RequestState } from "./types.ts";

export function createPaginator(config: PlannedPaginator): Paginator {
  switch (config.type) {
    case "json_link":
      return jsonLinkPaginator(config.next_url_path);
    case "header_link":
      return headerLinkPaginator(config.links_next_key);
    case "header_cursor":
      return headerCursorPaginator(config.cursor_key, config.cursor_param);
    case "cursor":
      return cursorPaginator(config);
    case "offset":
      return offsetPaginator(config);
    case "page_number":
      return pageNumberPaginator(config);
    case "single_page":
      return singlePagePaginator();
    case "auto":
      return autoPaginator();
  }
}

/** Detects on the first page, then behaves as the detected paginator. */
function autoPaginator(): Paginator {
  let detected: Paginator | undefined;
  return {
    first: (request) => request,
    next: (page) => {
      detected ??= createPaginator(detectPaginator(page));
      return detected.next(page);
    },
    describe: () => detected?.describe() ?? { type: "auto" },
  };
}
