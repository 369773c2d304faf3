// JSONPath over response bodies (the one module using jsonpath-plus, always with eval off), and the
// detection of where a response keeps its records.
import { JSONPath } from "jsonpath-plus";
import { isTable } from "../config/references.ts";

const simplePath = /^(?:\$\.)?[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*$/;
/** `.key` followed by another step or the end: a key `simplePath` takes, not the `.*` wildcard or `..`. */
const plainStep = /^\.([A-Za-z_][\w-]*)(?=[.[]|$)/;

/** Every value `path` matches in `document`; `path` may omit the leading `$.`. */
export function valuesAt(document: unknown, path: string): unknown[] {
  if (simplePath.test(path)) {
    let current: unknown = document;
    for (const key of path.replace(/^\$\./, "").split(".")) {
      if (!isTable(current) || !(key in current)) return [];
      current = current[key];
    }
    return [current];
  }
  const full = path.startsWith("$") ? path : `$.${path}`;
  return JSONPath({ path: full, json: document as object, eval: false, wrap: true }) as unknown[];
}

/** The first value `path` matches, or undefined. */
export function valueAt(document: unknown, path: string): unknown {
  return valuesAt(document, path)[0];
}

/** Keys under which APIs usually keep their records, in order of preference. */
const recordKeys = ["data", "items", "results", "entries", "records", "rows", "entities", "payload", "content", "objects", "values"];

/**
 * The records of a page. With a selector, what it matches (one list is the records; one object
 * is one record; null is none). Without one, the detected selector: the body itself when it is a
 * list, else the first list under a usual key (up to three levels deep), else the first list, else
 * the object.
 */
export function selectRecords(body: unknown, selector: string | null): { records: unknown[]; selector: string } {
  const path = selector ?? detectSelector(body);
  if (path === "$") return { records: toRecords(body), selector: path };
  const matches = valuesAt(body, path);
  if (matches.length === 1) return { records: toRecords(matches[0]), selector: path };
  return { records: matches.filter((match) => match !== null && match !== undefined), selector: path };
}

/** The data selector detected for a body (`$` for the body itself). */
export function detectSelector(body: unknown): string {
  if (!isTable(body)) return "$";
  return recordList(body, () => true) ?? findList(body, 1, () => true) ?? "$";
}

/**
 * The path of the first list under a usual record key, searched as detection searches (up to three
 * levels deep), that `accept` takes; undefined when there is none.
 *
 * @example
 * recordList({ meta: { items: [] }, data: [{ id: 1 }] }, (list) => list.length > 0) // "data"
 */
export function recordList(body: unknown, accept: (list: unknown[]) => boolean): string | undefined {
  if (!isTable(body)) return undefined;
  return findList(body, 3, (key, list) => recordKeys.includes(key.toLowerCase()) && accept(list));
}

/**
 * The plain keys a selector starts with, up to its first filter, wildcard, index, slice or
 * recursive descent: what must be in a response for the selector to apply to it at all. None for
 * a selector that starts with anything else.
 *
 * @example
 * leadingKeys("$.items[?(@.type=='x')]") // ["items"]
 * leadingKeys("data[*].attributes") // ["data"]
 * leadingKeys("meta.results") // ["meta", "results"]
 * leadingKeys("$..id") // []
 */
export function leadingKeys(selector: string): string[] {
  let rest = selector.startsWith("$") ? selector.slice(1) : `.${selector}`;
  const keys: string[] = [];
  for (let step = plainStep.exec(rest); step !== null; step = plainStep.exec(rest)) {
    keys.push(step[1]!);
    rest = rest.slice(step[0].length);
  }
  return keys;
}

// internal

function toRecords(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (value === null || value === undefined) return [];
  return [value];
}

function findList(
  table: Record<string, unknown>,
  depth: number,
  wanted: (key: string, list: unknown[]) => boolean,
  prefix = "",
): string | undefined {
  for (const [key, value] of Object.entries(table)) {
    if (Array.isArray(value) && wanted(key, value)) return `${prefix}${key}`;
  }
  if (depth <= 1) return undefined;
  for (const [key, value] of Object.entries(table)) {
    if (isTable(value) && /^[A-Za-z_][\w-]*$/.test(key)) {
      const found = findList(value, depth - 1, wanted, `${prefix}${key}.`);
      if (found) return found;
    }
  }
  return undefined;
}
