// `auto`: picks the paginator from the chain's first response (each chain detects on its own).
import type { PlannedPaginator } from "../../plan/index.ts";
import { isTable } from "../../config/references.ts";
import { parseLinkHeader } from "./header-link.ts";
import { linkOf } from "./json-link.ts";
import type { Page } from "./types.ts";

/**
 * A `Link` rel=next header -> header_link; a `next…` key (any depth) holding a URL or an object
 * with href/url -> json_link; an integer total_pages/pages/totalPages -> page_number; a `next…` key
 * holding another value -> cursor; otherwise single_page.
 */
export function detectPaginator(page: Page): PlannedPaginator {
  if (parseLinkHeader(page.headers.get("link")).has("next")) return { type: "header_link", links_next_key: "next" };
  const nextKeys = findKeys(page.body, (key) => /^next/i.test(key));
  const link = nextKeys.find(({ value }) => isUrlLike(value));
  if (link) return { type: "json_link", next_url_path: link.path };
  const pages = findKeys(page.body, (key) => key === "total_pages" || key === "pages" || key === "totalPages").find(({ value }) =>
    Number.isInteger(value),
  );
  if (pages) {
    const current = Number(page.request.url.searchParams.get("page") ?? 1);
    return {
      type: "page_number",
      base_page: 1,
      page: Number.isInteger(current) ? current : 1,
      page_param: "page",
      page_body_path: null,
      total_path: pages.path,
      maximum_page: null,
      stop_after_empty_page: true,
      has_more_path: null,
    };
  }
  const cursor = nextKeys.find(({ value }) => (typeof value === "string" && value !== "") || typeof value === "number");
  if (cursor) {
    return {
      type: "cursor",
      cursor_path: cursor.path,
      cursor_param: "cursor",
      cursor_body_path: null,
      stop_after_empty_page: false,
      has_more_path: null,
    };
  }
  return { type: "single_page" };
}

// internal

function isUrlLike(value: unknown): boolean {
  const link = linkOf(value);
  return link !== undefined && (/^https?:\/\//i.test(link) || link.startsWith("/") || link.startsWith("?"));
}

/** Keys matching `wanted` in tables (not in record lists), breadth-first, at most four levels deep. */
function findKeys(body: unknown, wanted: (key: string) => boolean): { path: string; value: unknown }[] {
  const found: { path: string; value: unknown }[] = [];
  let level: { table: Record<string, unknown>; prefix: string }[] = isTable(body) ? [{ table: body, prefix: "" }] : [];
  for (let depth = 0; depth < 4 && level.length > 0; depth++) {
    const nextLevel: typeof level = [];
    for (const { table, prefix } of level) {
      for (const [key, value] of Object.entries(table)) {
        if (!/^[A-Za-z_][\w-]*$/.test(key)) continue;
        if (wanted(key)) found.push({ path: `${prefix}${key}`, value });
        if (isTable(value)) nextLevel.push({ table: value, prefix: `${prefix}${key}.` });
      }
    }
    level = nextLevel;
  }
  return found;
}
