// dlt defects restload must not have (SPEC §5.9), in the HTTP and pagination layer.
import { describe, expect, test } from "bun:test";
import { json, startServer, serversStoppedAfterAll } from "../servers/server.ts";
import { runMain, tempDir } from "../helpers.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { extract, pipelineHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();
const all = Array.from({ length: 7 }, (_, i) => ({ id: i + 1 }));

describe("dlt regressions", () => {
  test("offset with no total in the response and stop_after_empty_page stops cleanly (dlt#4429, #1414)", async () => {
    const server = startServer((r) =>
      json({ items: all.slice(Number(r.url.searchParams.get("offset")), Number(r.url.searchParams.get("offset")) + 3) }),
    );
    servers.push(server);
    const result = await extract(
      `${pipelineHead(server.url)}\n[[resources]]\nname = "items"\nendpoint.paginator = { type = "offset", limit = 3 }\n`,
    );
    expect(result.error).toBeUndefined();
    expect(result.records.items).toEqual(all);
  });

  test("page_number with no total in the response and stop_after_empty_page stops cleanly", async () => {
    const server = startServer((r) =>
      json({ items: all.slice(Number(r.url.searchParams.get("page")) * 3, Number(r.url.searchParams.get("page")) * 3 + 3) }),
    );
    servers.push(server);
    const result = await extract(
      `${pipelineHead(server.url)}\n[[resources]]\nname = "items"\nendpoint.paginator = { type = "page_number" }\n`,
    );
    expect(result.error).toBeUndefined();
    expect(result.records.items).toEqual(all);
  });

  test("a total sent only on the first page is remembered", async () => {
    const server = startServer((r) => {
      const offset = Number(r.url.searchParams.get("offset"));
      return json({ ...(offset === 0 ? { total: 7 } : {}), items: all.slice(offset, offset + 3) });
    });
    servers.push(server);
    const result = await extract(
      `${pipelineHead(server.url)}\n[[resources]]\nname = "items"\nendpoint.paginator = { type = "offset", limit = 3, stop_after_empty_page = false }\n`,
    );
    expect(result.error).toBeUndefined();
    expect(result.records.items).toEqual(all);
    expect(server.requests).toHaveLength(3);
  });

  test("without total, empty-page stop, has_more or maximum, offset says it cannot tell where pages end", async () => {
    const server = startServer(() => json({ items: all.slice(0, 3) }));
    servers.push(server);
    const result = await extract(
      `${pipelineHead(server.url)}\n[[resources]]\nname = "items"\nendpoint.paginator = { type = "offset", limit = 3, stop_after_empty_page = false }\n`,
    );
    expect(result.error!.message).toContain('Cannot tell where the offset pages end: the response has no total at "total"');
    expect(server.requests).toHaveLength(1);
  });

  test("a next link that already carries the query is followed as it is: params are not appended again (dlt#1514)", async () => {
    const server = startServer((r, i) =>
      json({ data: [{ id: i }], next: i === 0 ? `${r.url.origin}/items?per_page=3&page=2&state=open` : null }),
    );
    servers.push(server);
    const result = await extract(
      `${pipelineHead(server.url)}\n[[resources]]\nname = "items"\nendpoint.params = { per_page = 3, state = "open" }\n`,
    );
    expect(result.records.items).toEqual([{ id: 0 }, { id: 1 }]);
    expect(server.requests.map((r) => r.url.search)).toEqual(["?per_page=3&state=open", "?per_page=3&page=2&state=open"]);
  });

  test("a client-level paginator is kept for an endpoint whose path ends with a placeholder (dlt#2586)", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, "p.toml"),
      `${pipelineHead("https://api.example.com/", 'paginator = { type = "offset", limit = 50 }')}\n[[resources]]\nname = "issues"\n\n[[resources]]\nname = "issue"\nendpoint.path = "issues/{resources.issues.number}"\n`,
    );
    const result = await runMain(["check", join(dir, "p.toml"), "--json"]);
    const child = JSON.parse(result.stdout).resources.find((r: { name: string }) => r.name === "issue");
    expect(child.paginator).toMatchObject({ type: "offset", limit: 50, level: "client" });
  });
});
