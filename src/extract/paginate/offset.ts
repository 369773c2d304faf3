// `offset`: offset/limit pages; stops on an empty page, at the total, at maximum_offset, or has_more false.
import type { PlannedPaginator } from "../../plan/index.ts";
import { withValue } from "./_request.ts";
import { rangePaginator } from "./_range.ts";
import type { Paginator } from "./types.ts";

type OffsetConfig = Extract<PlannedPaginator, { type: "offset" }>;

export function offsetPaginator(config: OffsetConfig): Paginator {
  return rangePaginator({
    describe: () => config,
    start: config.offset,
    step: config.limit,
    endFromTotal: (total) => total,
    maximum: config.maximum_offset,
    param: config.offset_param,
    bodyPath: config.offset_body_path,
    totalPath: config.total_path,
    stopAfterEmptyPage: config.stop_after_empty_page,
    hasMorePath: config.has_more_path,
    fixed: (request) => withValue(request, config.limit_param, config.limit_body_path, config.limit),
  });
}
