// Paginator precedence (endpoint, resource_defaults, client, auto) and dlt's defaults per type.
import type { Problem } from "../errors.ts";
import type { PaginatorConfig } from "../config/schema/paginator.ts";
import type { PaginatorLevel, PlannedPaginator } from "./types.ts";

export interface PaginatorChoice {
  readonly config: PaginatorConfig | undefined;
  readonly level: PaginatorLevel;
  /** TOML path of the chosen paginator, for messages. */
  readonly path: string;
}

/** The first paginator set, from the most specific level to the least. */
export function choosePaginator(candidates: readonly PaginatorChoice[]): PaginatorChoice {
  return candidates.find((choice) => choice.config !== undefined) ?? { config: undefined, level: "auto", path: "" };
}

/** Fills in dlt's defaults; reports parameters that exclude each other or need a POST body. */
export function planPaginator(choice: PaginatorChoice, method: "GET" | "POST", problems: Problem[]): PlannedPaginator {
  const p = choice.config;
  if (p === undefined) return { type: "auto" };
  const exclusive = (a: string, b: string, aValue: unknown, bValue: unknown) => {
    if (aValue !== undefined && bValue !== undefined) problems.push({ path: `${choice.path}.${b}`, message: `${a} and ${b} are both set; a paginator sends its value one way` });
  };
  const bodyNeedsPost = (key: string, value: unknown) => {
    if (value !== undefined && method !== "POST") problems.push({ path: `${choice.path}.${key}`, message: `${key} puts the value in a JSON body, which needs method = "POST"` });
  };
  switch (p.type) {
    case "json_link":
      return { type: p.type, next_url_path: p.next_url_path ?? "next" };
    case "header_link":
      return { type: p.type, links_next_key: p.links_next_key ?? "next" };
    case "header_cursor":
      return { type: p.type, cursor_key: p.cursor_key ?? "next", cursor_param: p.cursor_param ?? "cursor" };
    case "cursor":
      exclusive("cursor_param", "cursor_body_path", p.cursor_param, p.cursor_body_path);
      bodyNeedsPost("cursor_body_path", p.cursor_body_path);
      return {
        type: p.type,
        cursor_path: p.cursor_path ?? "cursors.next",
        cursor_param: p.cursor_body_path !== undefined ? null : (p.cursor_param ?? "cursor"),
        cursor_body_path: p.cursor_body_path ?? null,
        stop_after_empty_page: p.stop_after_empty_page ?? false,
        has_more_path: p.has_more_path ?? null,
      };
    case "offset":
      exclusive("offset_param", "offset_body_path", p.offset_param, p.offset_body_path);
      exclusive("limit_param", "limit_body_path", p.limit_param, p.limit_body_path);
      bodyNeedsPost("offset_body_path", p.offset_body_path);
      bodyNeedsPost("limit_body_path", p.limit_body_path);
      return {
        type: p.type,
        limit: p.limit,
        offset: p.offset ?? 0,
        offset_param: p.offset_body_path !== undefined ? null : (p.offset_param ?? "offset"),
        offset_body_path: p.offset_body_path ?? null,
        limit_param: p.limit_body_path !== undefined ? null : (p.limit_param ?? "limit"),
        limit_body_path: p.limit_body_path ?? null,
        total_path: p.total_path === false ? null : (p.total_path ?? "total"),
        maximum_offset: p.maximum_offset ?? null,
        stop_after_empty_page: p.stop_after_empty_page ?? true,
        has_more_path: p.has_more_path ?? null,
      };
    case "page_number": {
      exclusive("page_param", "page_body_path", p.page_param, p.page_body_path);
      bodyNeedsPost("page_body_path", p.page_body_path);
      const base = p.base_page ?? 0;
      return {
        type: p.type,
        base_page: base,
        page: p.page ?? base,
        page_param: p.page_body_path !== undefined ? null : (p.page_param ?? "page"),
        page_body_path: p.page_body_path ?? null,
        total_path: p.total_path === false ? null : (p.total_path ?? "total"),
        maximum_page: p.maximum_page ?? null,
        stop_after_empty_page: p.stop_after_empty_page ?? true,
        has_more_path: p.has_more_path ?? null,
      };
    }
    case "single_page":
    case "auto":
      return { type: p.type };
  }
}
