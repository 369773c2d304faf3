// Small immutable edits of a chain request: a query parameter, a field of the JSON body, a new URL.
import { isTable } from "../../config/references.ts";
import type { RequestState } from "./types.ts";

export function withQueryParam(request: RequestState, name: string, value: unknown): RequestState {
  const url = new URL(request.url);
  url.searchParams.set(name, String(value));
  return { ...request, url };
}

/** Sets `a.b.c` in a copy of the JSON body, creating tables on the way. */
export function withBodyPath(request: RequestState, path: string, value: unknown): RequestState {
  const keys = path.replace(/^\$\./, "").split(".");
  const root: Record<string, unknown> = isTable(request.json) ? structuredClone(request.json) : {};
  let table = root;
  for (const key of keys.slice(0, -1)) {
    if (!isTable(table[key])) table[key] = {};
    table = table[key] as Record<string, unknown>;
  }
  table[keys[keys.length - 1]!] = value;
  return { ...request, json: root };
}

/** Sets a value either as a query parameter or at a JSON body path, whichever the paginator uses. */
export function withValue(request: RequestState, param: string | null, bodyPath: string | null, value: unknown): RequestState {
  if (bodyPath !== null) return withBodyPath(request, bodyPath, value);
  return param !== null ? withQueryParam(request, param, value) : request;
}

/** A request to a next link: the link's own query string, nothing appended (dlt#1514). */
export function toLink(request: RequestState, link: string, base: URL): RequestState {
  return { ...request, url: new URL(link, base) };
}

/** `has_more` is false (or "false", 0). */
export function saysNoMore(value: unknown): boolean {
  return value === false || value === 0 || value === "false";
}
