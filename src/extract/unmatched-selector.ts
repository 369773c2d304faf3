// A data_selector whose path is not in a response: an empty page, or records it would silently drop.
import { isTable } from "../config/references.ts";
import { RestloadError } from "../errors.ts";
import { leadingKeys, recordList, valuesAt } from "./select.ts";

/**
 * Whether the plain keys `selector` starts with (see `leadingKeys`) are in `body`; undefined for a
 * selector that starts with none (`$`, `$..id`, `$[*]`), which no response can be checked against.
 * A wildcard or slice after those keys may rightly match nothing on a page that holds records, so
 * only the keys are looked for.
 *
 * @example
 * selectorPathFound({ data: [], included: [{ id: 1 }] }, "data[*].attributes") // true
 * selectorPathFound({ items: [] }, "results") // false
 * selectorPathFound({ items: [] }, "$..id") // undefined
 */
export function selectorPathFound(body: unknown, selector: string): boolean | undefined {
  const keys = leadingKeys(selector);
  return keys.length === 0 ? undefined : valuesAt(body, keys.join(".")).length > 0;
}

/**
 * Whether a response the selector's path is not in still holds records, which would be dropped
 * without a word: the records detection would find (see `heldRecords`) and no count-like field
 * (`total`, `count`, `total_count`, `totalResults`, …, at the top or one level down) saying 0.
 * Anything else is an empty page: `{}`, `{"total": 0}`, an envelope without any list (APIs that
 * leave an empty list out, as Google's do: `{"kind": "storage#objects"}`), or one whose only lists
 * are not records (`links`, `warnings`, `_links.curies`).
 *
 * @example
 * missesRecords({ items: [{ id: 1 }], total: 1 }) // true: "results" would drop the items
 * missesRecords({ items: [], total: 0 }) // false
 * missesRecords({ links: [{ rel: "self", href: "/items" }] }) // false
 */
export function missesRecords(body: unknown): boolean {
  return heldRecords(body) !== undefined && !(isTable(body) && saysEmpty(body));
}

/**
 * Where a response holds records: `$` for a list of objects, else the path of the first non-empty
 * list of objects under a usual record key (`data`, `items`, `results`, …, up to three levels
 * deep, as detection looks); undefined when there is none. A list under any other key (`links`,
 * `warnings`) is as likely to be about the response as to be its records.
 */
export function heldRecords(body: unknown): string | undefined {
  if (Array.isArray(body)) return holdsObjects(body) ? "$" : undefined;
  return recordList(body, holdsObjects);
}

export interface UnmatchedSelector {
  readonly resource: string;
  readonly selector: string;
  /** The selector was detected on the chain's first page, not configured. */
  readonly detected: boolean;
  readonly page: number;
  /** `GET <url>`, secrets masked. */
  readonly request: string;
  /** The URL, secrets masked, for the error's context. */
  readonly url: string;
  readonly body: unknown;
}

/** The E_DATA error for a selector whose path is not in a response that holds records, naming what the response holds. */
export function unmatchedSelectorError(miss: UnmatchedSelector): RestloadError {
  const selector = `data_selector "${miss.selector}"${miss.detected ? " (detected on the first page)" : ""}`;
  const start = `Cannot select records of resource "${miss.resource}" with ${selector}: the response to page ${miss.page} (${miss.request})`;
  const context = { resource: miss.resource, url: miss.url };
  if (Array.isArray(miss.body)) {
    return new RestloadError("E_DATA", `${start} is a list of ${miss.body.length} items, in which the selector reaches nothing`, {
      hint: 'Leave data_selector out (or set it to "$"): the response itself is the list of records.',
      context,
    });
  }
  const keys = isTable(miss.body) ? Object.keys(miss.body) : [];
  const shown = keys.length > 30 ? `${keys.slice(0, 30).join(", ")}, …` : keys.join(", ");
  const list = heldRecords(miss.body);
  return new RestloadError("E_DATA", `${start} has no such field; its top-level keys are ${shown}`, {
    hint:
      list === undefined
        ? "Set data_selector to the path of the list that holds the records, starting from one of the keys above."
        : `Set data_selector = "${list}" (the list in this response), or leave data_selector out to have it detected (restload check --probe shows what is detected).`,
    context,
  });
}

// internal

/** Count-like keys, lower-cased without `_` and `-`: `total_count`, `totalCount` and `total-count` alike. */
const countKeys = new Set([
  "total",
  "count",
  "totalcount",
  "totalresults",
  "totalitems",
  "totalelements",
  "totalentries",
  "totalrecords",
  "totalhits",
  "totalsize",
  "numresults",
  "numfound",
  "resultcount",
  "itemcount",
  "recordcount",
]);

/** A count-like field equal to 0 at the top of the body or one level down (`meta.total`). */
function saysEmpty(table: Record<string, unknown>, depth = 2): boolean {
  for (const [key, value] of Object.entries(table)) {
    if ((value === 0 || value === "0") && countKeys.has(key.toLowerCase().replace(/[_-]/g, ""))) return true;
  }
  if (depth <= 1) return false;
  return Object.values(table).some((value) => isTable(value) && saysEmpty(value, depth - 1));
}

function holdsObjects(list: unknown[]): boolean {
  return list.some(isTable);
}
