// One contract every paginator passes: a multi-page walk returns every record exactly once, in
// order; then each stop condition of the paginator ends the walk.
import { afterAll, describe, expect, test } from "bun:test";
import { type LoggedRequest, json, startServer } from "../servers/server.ts";
import { extract, pipelineHead } from "./_helpers.ts";

const all = Array.from({ length: 7 }, (_, i) => ({ id: i + 1, name: `item ${i + 1}` }));
const size = 3;
const slice = (index: number) => all.slice(index * size, index * size + size);
const lastIndex = Math.ceil(all.length / size) - 1;

interface Case {
  name: string;
  paginator: string;
  method?: "POST";
  /** Which page (0-based) a request asks for. */
  pageOf: (request: LoggedRequest) => number;
  /** The response for page `index`. */
  respond: (index: number, request: LoggedRequest) => Response;
}

const query = (request: LoggedRequest, name: string) => request.url.searchParams.get(name);
const bodyAt = (request: LoggedRequest, path: string) =>
  path.split(".").reduce<any>((value, key) => value?.[key], request.body ? JSON.parse(request.body) : {});

const cases: Case[] = [
  {
    name: "json_link",
    paginator: 'endpoint.paginator = { type = "json_link", next_url_path = "links.next" }',
    pageOf: (r) => Number(query(r, "page") ?? 0),
    respond: (i) => json({ data: slice(i), links: { next: i < lastIndex ? `/items?page=${i + 1}` : null } }),
  },
  {
    name: "header_link",
    paginator: 'endpoint.paginator = "header_link"',
    pageOf: (r) => Number(query(r, "page") ?? 0),
    respond: (i, r) =>
      json(slice(i), {
        headers:
          i < lastIndex
            ? { link: `<${r.url.origin}/items?page=${i + 1}>; rel="next", <${r.url.origin}/items?page=${lastIndex}>; rel="last"` }
            : {},
      }),
  },
  {
    name: "header_cursor",
    paginator: 'endpoint.paginator = { type = "header_cursor", cursor_key = "X-Next-Cursor", cursor_param = "after" }',
    pageOf: (r) => (query(r, "after") ? Number(query(r, "after")!.slice(1)) : 0),
    respond: (i) => json({ items: slice(i) }, { headers: i < lastIndex ? { "x-next-cursor": `c${i + 1}` } : {} }),
  },
  {
    name: "cursor in the query",
    paginator: 'endpoint.paginator = { type = "cursor", cursor_path = "cursors.next", cursor_param = "cursor" }',
    pageOf: (r) => (query(r, "cursor") ? Number(query(r, "cursor")!.slice(1)) : 0),
    respond: (i) => json({ results: slice(i), cursors: { next: i < lastIndex ? `c${i + 1}` : null } }),
  },
  {
    name: "cursor in a POST body",
    method: "POST",
    paginator:
      'endpoint.json = { filter = "all" }\nendpoint.paginator = { type = "cursor", cursor_path = "next_cursor", cursor_body_path = "page.after" }',
    pageOf: (r) => (bodyAt(r, "page.after") ? Number(bodyAt(r, "page.after").slice(1)) : 0),
    respond: (i, r) =>
      bodyAt(r, "filter") === "all"
        ? json({ results: slice(i), next_cursor: i < lastIndex ? `c${i + 1}` : "" })
        : json({ error: "filter lost" }, { status: 400 }),
  },
  {
    name: "offset in the query with a total",
    paginator: `endpoint.paginator = { type = "offset", limit = ${size}, total_path = "total" }`,
    pageOf: (r) => Number(query(r, "offset")) / Number(query(r, "limit")),
    respond: (i) => json({ total: all.length, items: slice(i) }),
  },
  {
    name: "offset in a POST body",
    method: "POST",
    paginator: `endpoint.paginator = { type = "offset", limit = ${size}, offset_body_path = "paging.offset", limit_body_path = "paging.limit", total_path = "meta.count" }`,
    pageOf: (r) => bodyAt(r, "paging.offset") / bodyAt(r, "paging.limit"),
    respond: (i) => json({ meta: { count: all.length }, data: slice(i) }),
  },
  {
    name: "page_number in the query with total pages",
    paginator: 'endpoint.paginator = { type = "page_number", base_page = 1, total_path = "pages" }',
    pageOf: (r) => Number(query(r, "page")) - 1,
    respond: (i) => json({ pages: lastIndex + 1, items: slice(i) }),
  },
  {
    name: "page_number in a POST body",
    method: "POST",
    paginator: 'endpoint.paginator = { type = "page_number", page_body_path = "query.page", total_path = "total_pages" }',
    pageOf: (r) => bodyAt(r, "query.page"),
    respond: (i) => json({ total_pages: lastIndex + 1, items: slice(i) }),
  },
  {
    name: "auto: Link header detected",
    paginator: "",
    pageOf: (r) => Number(query(r, "page") ?? 0),
    respond: (i, r) => json(slice(i), { headers: i < lastIndex ? { link: `<${r.url.origin}/items?page=${i + 1}>; rel="next"` } : {} }),
  },
  {
    name: "auto: next URL in the body detected",
    paginator: "",
    pageOf: (r) => Number(query(r, "page") ?? 0),
    respond: (i, r) => json({ results: slice(i), next: i < lastIndex ? `${r.url.origin}/items?page=${i + 1}` : null }),
  },
  {
    name: "auto: total_pages detected as page_number",
    paginator: "",
    pageOf: (r) => Number(query(r, "page") ?? 1) - 1,
    respond: (i) => json({ total_pages: lastIndex + 1, data: slice(i) }),
  },
  {
    name: "auto: next cursor detected",
    paginator: "",
    pageOf: (r) => (query(r, "cursor") ? Number(query(r, "cursor")!.slice(1)) : 0),
    respond: (i) => json({ entries: slice(i), meta: { next_cursor: i < lastIndex ? `c${i + 1}` : null } }),
  },
];

const servers: { stop(): Promise<void> }[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
});

describe("paginator contract", () => {
  for (const c of cases) {
    test(`${c.name}: every record once, in order, then stop`, async () => {
      const server = startServer((request) => c.respond(c.pageOf(request), request));
      servers.push(server);
      const result = await extract(
        `${pipelineHead(server.url)}\n[[resources]]\nname = "items"\n${c.method ? `endpoint.method = "${c.method}"\n` : ""}${c.paginator}\n`,
      );
      expect(result.error).toBeUndefined();
      expect(result.records.items).toEqual(all);
      // Pages of a known total are requested concurrently: their arrival order may vary.
      expect(server.requests.map((request) => c.pageOf(request)).sort()).toEqual([0, 1, 2]);
      if (c.method) expect(server.requests.every((request) => request.method === "POST")).toBe(true);
    });
  }

  test("single_page makes one request whatever the body says", async () => {
    const server = startServer((request) => json({ data: slice(0), next: `${request.url.origin}/items?page=1` }));
    servers.push(server);
    const result = await extract(`${pipelineHead(server.url)}\n[[resources]]\nname = "items"\nendpoint.paginator = "single_page"\n`);
    expect(result.records.items).toEqual(slice(0));
    expect(server.requests).toHaveLength(1);
  });

  test("auto with nothing to follow is a single page", async () => {
    const server = startServer(() => json({ data: slice(0) }));
    servers.push(server);
    const result = await extract(`${pipelineHead(server.url)}\n[[resources]]\nname = "items"\n`);
    expect(result.records.items).toEqual(slice(0));
    expect(server.requests).toHaveLength(1);
    expect(result.pages.items![0]!.paginator).toEqual({ type: "single_page" });
  });
});

describe("stop conditions", () => {
  const run = async (respond: (request: LoggedRequest, index: number) => Response, paginator: string) => {
    const server = startServer(respond);
    servers.push(server);
    const result = await extract(`${pipelineHead(server.url)}\n[[resources]]\nname = "items"\n${paginator}\n`);
    return { result, requests: server.requests };
  };

  test("json_link stops when the next key is missing", async () => {
    const { result, requests } = await run(
      (_, i) => json(i === 0 ? { data: slice(0), next: "/items?p=2" } : { data: slice(1) }),
      'endpoint.paginator = "json_link"',
    );
    expect(result.records.items).toHaveLength(6);
    expect(requests).toHaveLength(2);
  });

  test("cursor stops when has_more is false even if a cursor is present", async () => {
    const { result, requests } = await run(
      () => json({ data: slice(0), has_more: false, next: "c1" }),
      'endpoint.paginator = { type = "cursor", cursor_path = "next", has_more_path = "has_more" }',
    );
    expect(result.records.items).toHaveLength(3);
    expect(requests).toHaveLength(1);
  });

  test("cursor with stop_after_empty_page stops on an empty page", async () => {
    const { requests } = await run(
      (_, i) => json({ data: i === 0 ? slice(0) : [], next: `c${i + 1}` }),
      'endpoint.paginator = { type = "cursor", cursor_path = "next", stop_after_empty_page = true }',
    );
    expect(requests).toHaveLength(2);
  });

  test("offset stops on an empty page", async () => {
    const { result, requests } = await run(
      (r) => json({ items: all.slice(Number(r.url.searchParams.get("offset")), Number(r.url.searchParams.get("offset")) + 3) }),
      'endpoint.paginator = { type = "offset", limit = 3, total_path = false }',
    );
    expect(result.records.items).toEqual(all);
    expect(requests).toHaveLength(4);
  });

  test("offset stops at maximum_offset", async () => {
    const { requests } = await run(
      () => json({ items: slice(0) }),
      'endpoint.paginator = { type = "offset", limit = 3, total_path = false, maximum_offset = 6 }',
    );
    expect(requests.map((r) => r.url.searchParams.get("offset"))).toEqual(["0", "3"]);
  });

  test("offset stops when has_more is false", async () => {
    const { requests } = await run(
      (_, i) => json({ items: slice(i), more: i < 1 }),
      'endpoint.paginator = { type = "offset", limit = 3, total_path = false, has_more_path = "more" }',
    );
    expect(requests).toHaveLength(2);
  });

  test("page_number stops at maximum_page (the first page not requested)", async () => {
    const { requests } = await run(
      () => json({ items: slice(0) }),
      'endpoint.paginator = { type = "page_number", base_page = 1, total_path = false, maximum_page = 3 }',
    );
    expect(requests.map((r) => r.url.searchParams.get("page"))).toEqual(["1", "2"]);
  });

  test("page_number stops on an empty page", async () => {
    const { result } = await run(
      (r) => json({ items: slice(Number(r.url.searchParams.get("page"))) }),
      'endpoint.paginator = { type = "page_number", total_path = false }',
    );
    expect(result.records.items).toEqual(all);
  });
});

describe("concurrent pages", () => {
  test("offset pages with a known total are fetched concurrently, every record exactly once, in order", async () => {
    const records = Array.from({ length: 250 }, (_, i) => ({ id: i }));
    const server = startServer(async (request) => {
      await Bun.sleep(30);
      const offset = Number(request.url.searchParams.get("offset"));
      return json({ total: records.length, items: records.slice(offset, offset + 10) });
    });
    servers.push(server);
    const result = await extract(
      `${pipelineHead(server.url)}\n[[resources]]\nname = "items"\nendpoint.paginator = { type = "offset", limit = 10 }\n`,
    );
    expect(result.error).toBeUndefined();
    expect(result.records.items).toEqual(records);
    expect(server.requests).toHaveLength(25);
    expect(server.concurrency.max).toBeGreaterThan(1);
    expect(server.concurrency.max).toBeLessThanOrEqual(8);
  });

  test("page_number with total pages too; with has_more the pages stay sequential", async () => {
    const server = startServer(async (request) => {
      await Bun.sleep(20);
      const page = Number(request.url.searchParams.get("page"));
      return json({ pages: 6, more: page < 5, items: [{ page }] });
    });
    servers.push(server);
    const parallel = await extract(
      `${pipelineHead(server.url)}\n[[resources]]\nname = "items"\nendpoint.paginator = { type = "page_number", total_path = "pages" }\n`,
    );
    expect((parallel.records.items as { page: number }[]).map((r) => r.page)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(server.concurrency.max).toBeGreaterThan(1);
    server.concurrency.max = 0;
    const sequential = await extract(
      `${pipelineHead(server.url)}\n[[resources]]\nname = "items"\nendpoint.paginator = { type = "page_number", total_path = "pages", has_more_path = "more" }\n`,
    );
    expect((sequential.records.items as { page: number }[]).map((r) => r.page)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(server.concurrency.max).toBe(1);
  });

  test("a total larger than the data stops at the first empty page, pages requested ahead aside", async () => {
    const records = Array.from({ length: 30 }, (_, i) => ({ id: i }));
    const server = startServer((request) => {
      const offset = Number(request.url.searchParams.get("offset"));
      return json({ total: 2000, items: records.slice(offset, offset + 10) });
    });
    servers.push(server);
    const result = await extract(
      `${pipelineHead(server.url)}\n[[resources]]\nname = "items"\nendpoint.paginator = { type = "offset", limit = 10 }\n`,
    );
    expect(result.records.items).toEqual(records);
    expect(server.requests.length).toBeLessThanOrEqual(4 + 8);
  });
});
