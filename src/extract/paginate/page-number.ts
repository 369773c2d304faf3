// `page_number`: numbered pages from base_page; the total is a number of pages.
import type { PlannedPaginator } from "../../plan/index.ts";
import { rangePaginator } from "./_range.ts";
import type { Paginator } from "./types.ts";

type PageNumberConfig = Extract<PlannedPaginator, { type: "page_number" }>;

export function pageNumberPaginator(config: PageNumberConfig): Paginator {
  return rangePaginator({
    describe: () => config,
    start: config.page,
    step: 1,
    endFromTotal: (pages) => config.base_page + pages,
    maximum: config.maximum_page,
    param: config.page_param,
    bodyPath: config.page_body_path,
    totalPath: config.total_path,
    stopAfterEmptyPage: config.stop_after_empty_page,
    hasMorePath: config.has_more_path,
  });
}
