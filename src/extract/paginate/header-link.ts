// `header_link`: RFC 8288 `Link` headers; follows rel="next" (`links_next_key`) until there is none.
import { toLink } from "./_request.ts";
import type { Paginator } from "./types.ts";

export function headerLinkPaginator(linksNextKey: string): Paginator {
  return {
    first: (request) => request,
    next: (page) => {
      const link = parseLinkHeader(page.headers.get("link")).get(linksNextKey);
      return link ? toLink(page.request, link, page.url) : null;
    },
    describe: () => ({ type: "header_link", links_next_key: linksNextKey }),
  };
}

/** `<https://x/?page=2>; rel="next", <…>; rel="last"` -> Map { next => …, last => … }. */
export function parseLinkHeader(header: string | null): Map<string, string> {
  const links = new Map<string, string>();
  if (!header) return links;
  for (const match of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const rel = /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(match[2] ?? "")?.[1];
    if (!rel) continue;
    for (const name of rel.trim().split(/\s+/)) if (!links.has(name)) links.set(name, match[1]!);
  }
  return links;
}
