import { describe, expect, test } from "bun:test";
import { detectSelector, selectRecords, valueAt } from "../../src/extract/select.ts";
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

  test("a selector that matches nothing is an empty page", () => {
    expect(selectRecords({ other: 1 }, "data").records).toEqual([]);
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
