// `json_link`: the body holds the next page's URL (`next_url_path`); stops when it is missing or null.
import { valueAt } from "../select.ts";
import { isTable } from "../../config/references.ts";
import { toLink } from "./_request.ts";
import type { Paginator } from "./types.ts";

export function jsonLinkPaginator(nextUrlPath: string): Paginator {
  return {
    first: (request) => request,
    next: (page) => {
      const link = linkOf(valueAt(page.body, nextUrlPath));
      return link ? toLink(page.request, link, page.url) : null;
    },
    describe: () => ({ type: "json_link", next_url_path: nextUrlPath }),
  };
}

/** A URL string, or an object holding one as `href` or `url`. */
export function linkOf(value: unknown): string | undefined {
  if (typeof value === "string" && value.trim() !== "") return value.trim();
  if (isTable(value)) return linkOf(value.href) ?? linkOf(value.url);
  return undefined;
}
