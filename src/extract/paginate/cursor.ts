// `cursor`: the body holds the next cursor (`cursor_path`), sent as a query param or a JSON body field.
import type { PlannedPaginator } from "../../plan/index.ts";
import { valueAt } from "../select.ts";
import { saysNoMore, withValue } from "./_request.ts";
import type { Paginator } from "./types.ts";

type CursorConfig = Extract<PlannedPaginator, { type: "cursor" }>;

export function cursorPaginator(config: CursorConfig): Paginator {
  return {
    first: (request) => request,
    next: (page) => {
      if (config.has_more_path !== null && saysNoMore(valueAt(page.body, config.has_more_path))) return null;
      if (config.stop_after_empty_page && page.records.length === 0) return null;
      const cursor = valueAt(page.body, config.cursor_path);
      if (cursor === undefined || cursor === null || cursor === "") return null;
      return withValue(page.request, config.cursor_param, config.cursor_body_path, cursor);
    },
    describe: () => config,
  };
}
