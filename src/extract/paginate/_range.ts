// What offset and page_number share: a counter moved each page, stopped by total, maximum,
// has_more or an empty page; a total seen once (often only on the first page) is remembered.
import { RestloadError } from "../../errors.ts";
import { valueAt } from "../select.ts";
import { saysNoMore, withValue } from "./_request.ts";
import type { Page, Paginator, RequestState } from "./types.ts";

export interface RangeConfig {
  readonly describe: Paginator["describe"];
  readonly start: number;
  readonly step: number;
  /** The counter value after the last one, given the total the API reported. */
  readonly endFromTotal: (total: number) => number;
  readonly maximum: number | null;
  readonly param: string | null;
  readonly bodyPath: string | null;
  readonly totalPath: string | null;
  readonly stopAfterEmptyPage: boolean;
  readonly hasMorePath: string | null;
  /** Extra parameters set on every request (offset's limit). */
  readonly fixed?: (request: RequestState) => RequestState;
}

export function rangePaginator(config: RangeConfig): Paginator {
  let current = config.start;
  let total: number | undefined;
  const set = (request: RequestState) => {
    const withCounter = withValue(request, config.param, config.bodyPath, current);
    return config.fixed ? config.fixed(withCounter) : withCounter;
  };
  return {
    first: (request) => set(request),
    next: (page: Page) => {
      if (config.totalPath !== null && total === undefined) total = numberAt(page.body, config.totalPath);
      if (config.hasMorePath !== null && saysNoMore(valueAt(page.body, config.hasMorePath))) return null;
      if (config.stopAfterEmptyPage && page.records.length === 0) return null;
      if (total === undefined && !config.stopAfterEmptyPage && config.hasMorePath === null && config.maximum === null) {
        const type = config.describe().type;
        throw new RestloadError(
          "E_PAGINATE",
          `Cannot tell where the ${type} pages end: the response has no total at "${config.totalPath ?? "(none)"}", and stop_after_empty_page is false`,
          { hint: "Set total_path to where the API reports the total, or stop_after_empty_page = true, has_more_path or a maximum." },
        );
      }
      current += config.step;
      if (total !== undefined && current >= config.endFromTotal(total)) return null;
      if (config.maximum !== null && current >= config.maximum) return null;
      return set(page.request);
    },
    describe: config.describe,
    rest: (page: Page) => {
      // has_more must be read page by page; without a total the end is unknown.
      if (config.totalPath === null || config.hasMorePath !== null) return undefined;
      const found = numberAt(page.body, config.totalPath);
      if (found === undefined) return undefined;
      total = found;
      // Produced one at a time: a huge or wrong total costs nothing until pages are requested.
      return {
        stopAfterEmptyPage: config.stopAfterEmptyPage,
        next: () => {
          const value = current + config.step;
          if (value >= config.endFromTotal(found) || (config.maximum !== null && value >= config.maximum)) return null;
          current = value;
          return set(page.request);
        },
      };
    },
  };
}

function numberAt(body: unknown, path: string): number | undefined {
  const value = valueAt(body, path);
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && /^\d+$/.test(value)) return Number(value);
  return undefined;
}
