import { describe, expect, test } from "bun:test";
import { detectSelector, leadingKeys, selectRecords, valueAt } from "../../src/extract/select.ts";
import { heldRecords, missesRecords, selectorPathFound } from "../../src/extract/unmatched-selector.ts";
import { detectPaginator } from "../../src/extract/paginate/detect.ts";
import { parseLinkHeader } from "../../src/extract/paginate/header-link.ts";

describe("data selection", () => {
  test("a list body is the records", () => {
    expect(selectRecords([{ a: 1 }], null)).toEqual({ records: [{ a: 1 }], selector: "$" });
  });

  test("detection prefers the usual keys, up to three levels deep", () => {
    expect(detectSelector({ meta: { count: 2 }, tags: ["x"], results: [1, 2] })).toBe("results");
    expect(detectSelector({ response: { body: { items: [1] } } })).toBe("response.body.items");
    expect(detectSelector({ whatever: [1] })).toBe("whatever");
    expect(detectSelector({ id: 1 })).toBe("$");
  });

  test("an object body without lists is one record", () => {
    expect(selectRecords({ id: 1, name: "x" }, null).records).toEqual([{ id: 1, name: "x" }]);
  });

  test("JSONPath works with and without $., filters are refused (eval off)", () => {
    const body = { data: { rows: [{ id: 1 }, { id: 2 }] } };
    expect(selectRecords(body, "data.rows").records).toEqual([{ id: 1 }, { id: 2 }]);
    expect(selectRecords(body, "$.data.rows[*].id").records).toEqual([1, 2]);
    expect(valueAt({ data: [{ id: 1 }, { id: 9 }] }, "data[-1:].id")).toBe(9);
    expect(() => selectRecords(body, "$..rows[?(@.id > 1)]")).toThrow();
  });

  test("a selector that reaches nothing, null or [] selects no records", () => {
    expect(selectRecords({ other: 1 }, "data")).toEqual({ records: [], selector: "data" });
    expect(selectRecords({ data: null }, "data")).toEqual({ records: [], selector: "data" });
    expect(selectRecords({ data: [] }, "data")).toEqual({ records: [], selector: "data" });
    expect(selectRecords({ data: { rows: [] } }, "$.data.rows[*]").records).toEqual([]);
  });

  test("a selector's leading keys stop at the first filter, wildcard, index, slice or recursive descent", () => {
    expect(leadingKeys("$.items[?(@.type=='x')]")).toEqual(["items"]);
    expect(leadingKeys("data[*].attributes")).toEqual(["data"]);
    expect(leadingKeys("meta.results")).toEqual(["meta", "results"]);
    expect(leadingKeys("$.data.rows[0].id")).toEqual(["data", "rows"]);
    expect(leadingKeys("$.data[-1:]")).toEqual(["data"]);
    expect(leadingKeys("$.data.*")).toEqual(["data"]);
    expect(leadingKeys("$.data..id")).toEqual(["data"]);
    expect(leadingKeys("response-body.items")).toEqual(["response-body", "items"]);
    expect(leadingKeys("$..x")).toEqual([]);
    expect(leadingKeys("$[*]")).toEqual([]);
    expect(leadingKeys("$")).toEqual([]);
    expect(leadingKeys("$['data']")).toEqual([]);
  });

  test("only the selector's leading keys are looked for: a filter or wildcard may match nothing where they are", () => {
    expect(selectorPathFound({ items: [{ type: "y" }] }, "$.items[?(@.type=='x')]")).toBe(true);
    expect(selectorPathFound({ data: [], included: [{ id: 1 }] }, "data[*].attributes")).toBe(true);
    expect(selectorPathFound({ meta: { results: null } }, "meta.results")).toBe(true);
    expect(selectorPathFound({ meta: { count: 0 } }, "meta.results")).toBe(false);
    expect(selectorPathFound({ items: [{ id: 1 }], total: 3 }, "results")).toBe(false);
    expect(selectorPathFound([{ data: 1 }], "data")).toBe(false);
    expect(selectorPathFound({ items: [] }, "$..x")).toBeUndefined();
    expect(selectorPathFound([{ id: 1 }], "$[*]")).toBeUndefined();
    expect(selectorPathFound({ id: 1 }, "$")).toBeUndefined();
  });

  test("a response holds records when it is, or has under a usual record key, a non-empty list of objects and no count of 0", () => {
    expect(missesRecords({ items: [{ id: 1 }], total: 1 })).toBe(true);
    expect(missesRecords({ response: { body: { items: [{ id: 1 }] } } })).toBe(true);
    expect(missesRecords({ kind: "list", entries: [{ id: 1 }] })).toBe(true);
    expect(missesRecords([{ id: 1 }])).toBe(true);
    expect(missesRecords({})).toBe(false);
    expect(missesRecords([])).toBe(false);
    expect(missesRecords(null)).toBe(false);
    expect(missesRecords({ items: [], total: 0 })).toBe(false);
    expect(missesRecords({ kind: "storage#objects" })).toBe(false);
    expect(missesRecords({ items: [{ name: "x" }], meta: { total_count: 0 } })).toBe(false);
    expect(missesRecords({ results: [{ name: "x" }], totalResults: "0" })).toBe(false);
    expect(missesRecords({ a: { b: { c: { items: [{ id: 1 }] } } } })).toBe(false);
  });

  test("lists under other keys, and lists of scalars, are not records: links, warnings, _links.curies, ids", () => {
    expect(missesRecords({ links: [{ rel: "self", href: "/items?since=2024" }] })).toBe(false);
    expect(missesRecords({ warnings: [{ message: "deprecated" }], meta: { page: 1 } })).toBe(false);
    expect(missesRecords({ _links: { curies: [{ name: "doc", href: "/docs/{rel}" }] } })).toBe(false);
    expect(missesRecords({ response: { body: { things: [{ id: 1 }] } } })).toBe(false);
    expect(missesRecords({ data: [1, 2, 3] })).toBe(false);
    expect(missesRecords(["a", "b"])).toBe(false);
  });

  test("where a response holds records: the first non-empty list of objects under a usual key", () => {
    expect(heldRecords({ data: [], items: [{ id: 1 }] })).toBe("items");
    expect(heldRecords({ meta: { results: [{ id: 1 }] } })).toBe("meta.results");
    expect(heldRecords([{ id: 1 }])).toBe("$");
    expect(heldRecords({ links: [{ rel: "self" }] })).toBeUndefined();
  });
});

describe("pagination helpers", () => {
  test("Link headers with several rels and spaces parse", () => {
    const links = parseLinkHeader('<https://x/?p=2>; rel="next", <https://x/?p=9>; rel="last",<https://x/?p=1>;rel=first');
    expect(links.get("next")).toBe("https://x/?p=2");
    expect(links.get("last")).toBe("https://x/?p=9");
    expect(links.get("first")).toBe("https://x/?p=1");
  });

  test("detection: an object with href in a next key is a json link", () => {
    const page = {
      request: { method: "GET" as const, url: new URL("https://x/items"), headers: {}, json: undefined, data: undefined },
      url: new URL("https://x/items"),
      status: 200,
      headers: new Headers(),
      body: { _links: { next: { href: "/items?page=2" } }, items: [] },
      records: [],
    };
    expect(detectPaginator(page)).toEqual({ type: "json_link", next_url_path: "_links.next" });
  });
});
