// Which responses a data_selector whose path is not in them fails: those that hold records, before
// the path has been in any response of the resource; after that, a response without it is empty.
import { describe, expect, test } from "bun:test";
import { parsePipelineText } from "../../src/config/load.ts";
import { Redactor } from "../../src/config/redact.ts";
import { RestloadError } from "../../src/errors.ts";
import { createExtractor } from "../../src/extract/index.ts";
import { plan } from "../../src/plan/index.ts";
import { json, startServer, type TestServer, serversStoppedAfterAll } from "../servers/server.ts";
import { fakeClock } from "./_fake-clock.ts";
import { extract, pipelineHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

/** Answers page n (the `page` query parameter, 1 when absent) with `pages[n - 1]`. */
function paged(pages: unknown[]): TestServer {
  const server = startServer((request) => json(pages[Number(request.url.searchParams.get("page") ?? "1") - 1] ?? {}));
  servers.push(server);
  return server;
}

const items = (endpoint: string) => `\n[[resources]]\nname = "items"\n${endpoint}\n`;

/** Answers each path with its body in `bodies` (`{}` for any other). */
function byPath(bodies: Record<string, unknown>): TestServer {
  const server = startServer((request) => json(bodies[request.url.pathname] ?? {}));
  servers.push(server);
  return server;
}

/** The records of child resource "comments" for each parent in turn, from one extractor (as one run). */
async function commentsOf(server: TestServer, parentIds: number[]): Promise<{ records: unknown[][]; error: Error | undefined }> {
  const toml = `${pipelineHead(server.url)}[resource_defaults]\nendpoint.paginator = "single_page"\n[[resources]]\nname = "posts"\n[[resources]]\nname = "comments"\nendpoint.path = "posts/{resources.posts.id}/comments"\nendpoint.data_selector = "comments"\n`;
  const { config } = parsePipelineText(toml, "/tmp/test-pipeline.toml", {});
  const planned = plan({ file: "/tmp/test-pipeline.toml", dir: "/tmp", config, secrets: [], envNames: [] }, { env: {} });
  const extractor = createExtractor({ plan: planned, secrets: new Map(), redactor: new Redactor([]), clock: fakeClock() });
  const comments = planned.resources.find((resource) => resource.name === "comments")!;
  const records: unknown[][] = [];
  try {
    for (const id of parentIds) {
      const chain: unknown[] = [];
      for await (const page of extractor.pages(comments, { parent: { id } })) chain.push(...page.records);
      records.push(chain);
    }
  } catch (error) {
    return { records, error: error as Error };
  }
  return { records, error: undefined };
}

describe("a data_selector across the pages of a chain", () => {
  test("a last page with another body (and a list of its own) ends the chain quietly once the selector's path has been found", async () => {
    const server = paged([
      { results: [{ id: 1 }, { id: 2 }], next: "/items?page=2" },
      { results: [{ id: 3 }], next: "/items?page=3" },
      { detail: "Invalid page.", errors: [{ code: "out_of_range" }] },
    ]);
    const result = await extract(
      pipelineHead(server.url) +
        items('endpoint.data_selector = "results"\nendpoint.paginator = { type = "json_link", next_url_path = "next" }'),
    );
    expect(result.error).toBeUndefined();
    expect(result.records.items).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(server.requests).toHaveLength(3);
  });

  test("pages without the field and without records stay empty until one holds records the selector misses", async () => {
    const server = paged([
      { kind: "list", nextPageToken: "2" },
      { kind: "list", entries: [{ id: 1 }], nextPageToken: "3" },
    ]);
    const result = await extract(
      pipelineHead(server.url) +
        items(
          'endpoint.data_selector = "items"\nendpoint.paginator = { type = "cursor", cursor_path = "nextPageToken", cursor_param = "page" }',
        ),
    );
    expect(result.error).toBeInstanceOf(RestloadError);
    expect((result.error as RestloadError).code).toBe("E_DATA");
    expect(result.error!.message).toBe(
      `Cannot select records of resource "items" with data_selector "items": the response to page 2 (GET ${server.origin}/items?page=2) has no such field; its top-level keys are kind, entries, nextPageToken`,
    );
    expect((result.error as RestloadError).hint).toContain('Set data_selector = "entries"');
  });

  test("pages fetched ahead for a known total are checked too: a wrong selector fails on the first", async () => {
    const server = paged([
      { data: [{ id: 1 }], total: 3 },
      { data: [{ id: 2 }], total: 3 },
      { data: [{ id: 3 }], total: 3 },
    ]);
    const result = await extract(
      pipelineHead(server.url) +
        items('endpoint.data_selector = "rows"\nendpoint.paginator = { type = "page_number", base_page = 1, total_path = "total" }'),
    );
    expect((result.error as RestloadError).code).toBe("E_DATA");
    expect(result.error!.message).toContain("its top-level keys are data, total");
  });

  test("a list response the selector reaches nothing in says so and suggests leaving the selector out", async () => {
    const server = paged([[{ id: 1 }, { id: 2 }]]);
    const result = await extract(pipelineHead(server.url) + items('endpoint.data_selector = "data"\nendpoint.paginator = "single_page"'));
    expect(result.error!.message).toContain("is a list of 2 items, in which the selector reaches nothing");
    expect((result.error as RestloadError).hint).toContain("Leave data_selector out");
  });

  test("an empty list response (as PHP APIs send for an empty object) is an empty page", async () => {
    const server = paged([[]]);
    const result = await extract(pipelineHead(server.url) + items('endpoint.data_selector = "data"\nendpoint.paginator = "single_page"'));
    expect(result.error).toBeUndefined();
    expect(result.records.items).toEqual([]);
  });

  test("the error shows the URL with its secrets masked", async () => {
    const server = paged([{ items: [{ id: 1 }] }]);
    const result = await extract(
      `[pipeline]\nname = "test"\n[client]\nbase_url = { secret = "url" }\n` +
        items('endpoint.data_selector = "results"\nendpoint.paginator = "single_page"'),
      { secrets: { url: `${server.origin}/s3cr3t-tenant/` } },
    );
    expect((result.error as RestloadError).code).toBe("E_DATA");
    expect(result.error!.message).toContain("(GET ***items)");
    expect(result.error!.message).not.toContain("s3cr3t-tenant");
    expect(JSON.stringify((result.error as RestloadError).context)).not.toContain("s3cr3t-tenant");
  });

  test("a wildcard after a path that is there may select nothing: JSON:API's empty data beside included, records without the field", async () => {
    const server = byPath({
      "/articles": { data: [], included: [{ type: "people", id: "9", attributes: { name: "Ann" } }], meta: { page: 1 } },
      "/sparse": {
        data: [
          { type: "articles", id: "1" },
          { type: "articles", id: "2" },
        ],
      },
    });
    const endpoint = 'endpoint.data_selector = "data[*].attributes"\nendpoint.paginator = "single_page"';
    const result = await extract(
      `${pipelineHead(server.url)}[[resources]]\nname = "articles"\n${endpoint}\n[[resources]]\nname = "sparse"\n${endpoint}\n`,
    );
    expect(result.error).toBeUndefined();
    expect(result.records).toEqual({ articles: [], sparse: [] });
  });

  test("a response without the path whose only lists are not records (links, warnings, _links.curies) is an empty page", async () => {
    const server = paged([
      {
        links: [{ rel: "self", href: "/items?since=2024-05-01" }],
        warnings: [{ message: "since is deprecated, use updated_after" }],
        _links: { curies: [{ name: "doc", href: "/docs/{rel}", templated: true }] },
      },
    ]);
    const result = await extract(pipelineHead(server.url) + items('endpoint.data_selector = "data"\nendpoint.paginator = "single_page"'));
    expect(result.error).toBeUndefined();
    expect(result.records.items).toEqual([]);
  });

  test("once the path was in a response of the resource, another parent's response without it is an empty page", async () => {
    // A post without comments is answered without the key, with related posts under "items".
    const server = byPath({
      "/posts/1/comments": { comments: [{ id: 11 }, { id: 12 }] },
      "/posts/2/comments": { items: [{ id: 7, title: "Related post" }] },
    });
    const confirmed = await commentsOf(server, [1, 2]);
    expect(confirmed.error).toBeUndefined();
    expect(confirmed.records).toEqual([[{ id: 11 }, { id: 12 }], []]);
    // Before the path has been in any response of the resource, the same response fails.
    const unconfirmed = await commentsOf(server, [2, 1]);
    expect((unconfirmed.error as RestloadError).code).toBe("E_DATA");
    expect(unconfirmed.error!.message).toBe(
      `Cannot select records of resource "comments" with data_selector "comments": the response to page 1 (GET ${server.origin}/posts/2/comments) has no such field; its top-level keys are items`,
    );
  });
});
