// Segments load while the unit extracts, inside its open transaction. A record bringing a new
// column starts a new segment, so these tests split one load into several segments with a handful
// of records and check that merge, replace and failures still behave as one load.
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { json, startServer, type TestServer } from "../servers/server.ts";
import { project } from "./_helpers.ts";

const servers: TestServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
});

function mutable(initial: unknown[]) {
  const state = { records: initial };
  const server = startServer(() => json(state.records));
  servers.push(server);
  return { server, state };
}

const head = (url: string) => `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${url}"\n`;
const merge = `\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\n`;

/** Record 2 and 3 each bring a new root column and a new child column: three root segments, two child segments. */
const splitLoad = [
  { id: 1, v: "first", tags: [{ name: "x" }] },
  { id: 2, v: "second", extra1: 1, tags: [{ name: "p", color: "red" }] },
  { id: 1, v: "last", extra2: 2, tags: [{ name: "y" }, { name: "z" }] },
];

describe("segments load while extracting", () => {
  test("merge into a new table: a key repeated in a later segment keeps only its last record and that record's child rows", async () => {
    const { server } = mutable(splitLoad);
    const p = project(`${head(server.url)}${merge}`);
    const result = await p.run(["--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).units[0].rows_by_table).toEqual({ items: 2, items__tags: 3 });
    expect(await p.query("select id, v, extra1, extra2 from data.items order by id")).toEqual([
      { id: 1, v: "last", extra1: null, extra2: 2 },
      { id: 2, v: "second", extra1: 1, extra2: null },
    ]);
    expect(await p.query("select i.id, t.name from data.items i join data.items__tags t on t._rl_root_id = i._rl_id order by i.id, t._rl_list_idx")).toEqual([
      { id: 1, name: "y" },
      { id: 1, name: "z" },
      { id: 2, name: "p" },
    ]);
    expect(await p.query("select count(*) as n from data.items__tags")).toEqual([{ n: 3 }]);
  });

  test("merge into an existing table across segments: old rows and their child rows are replaced, the rest stay", async () => {
    const { server, state } = mutable([
      { id: 1, v: "old1", tags: [{ name: "a" }] },
      { id: 2, v: "old2", tags: [{ name: "b" }] },
      { id: 3, v: "old3", tags: [{ name: "c" }] },
    ]);
    const p = project(`${head(server.url)}${merge}`);
    expect((await p.run()).code).toBe(0);
    state.records = splitLoad;
    const result = await p.run(["--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).units[0].rows_by_table).toEqual({ items: 2, items__tags: 3 });
    expect(await p.query("select id, v from data.items order by id")).toEqual([
      { id: 1, v: "last" },
      { id: 2, v: "second" },
      { id: 3, v: "old3" },
    ]);
    expect(await p.query("select i.id, t.name from data.items i join data.items__tags t on t._rl_root_id = i._rl_id order by i.id, t._rl_list_idx")).toEqual([
      { id: 1, name: "y" },
      { id: 1, name: "z" },
      { id: 2, name: "p" },
      { id: 3, name: "c" },
    ]);
    expect(await p.query("select count(*) as n from data.items__tags where _rl_root_id not in (select _rl_id from data.items)")).toEqual([{ n: 0 }]);
  });

  test("replace across segments leaves exactly this load's rows, child tables included", async () => {
    const { server, state } = mutable([{ id: 7, v: "gone", tags: [{ name: "old" }] }]);
    const p = project(`${head(server.url)}\n[[resources]]\nname = "items"\nwrite_disposition = "replace"\n`);
    expect((await p.run()).code).toBe(0);
    state.records = splitLoad;
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id, v from data.items order by v")).toEqual([
      { id: 1, v: "first" },
      { id: 1, v: "last" },
      { id: 2, v: "second" },
    ]);
    expect(await p.query("select name from data.items__tags order by name")).toEqual([{ name: "p" }, { name: "x" }, { name: "y" }, { name: "z" }]);
  });

  test("replace after a system_prefix change still removes every earlier row, child rows included", async () => {
    const { server, state } = mutable([{ id: 7, v: "gone", tags: [{ name: "old" }] }]);
    const resource = `\n[[resources]]\nname = "items"\nwrite_disposition = "replace"\n`;
    const p = project(`${head(server.url)}${resource}`);
    expect((await p.run()).code).toBe(0);
    writeFileSync(p.pipeline, `${head(server.url).replace('dataset = "data"', 'dataset = "data"\nsystem_prefix = "_x_"')}${resource}`);
    state.records = [{ id: 1, v: "new", tags: [{ name: "fresh" }] }];
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id, v from data.items")).toEqual([{ id: 1, v: "new" }]);
    expect(await p.query("select name from data.items__tags")).toEqual([{ name: "fresh" }]);
  });

  test("a segment DuckDB rejects stops the extraction, rolls the unit back and names the unit", async () => {
    // Page 1 holds a timestamp that looks valid but is not a date (30 February); page 2 brings a new
    // column, so page 1's segment is loaded (and rejected) while later, slow pages are still coming.
    const pages = 20;
    const server = startServer(async (request) => {
      const page = Number(request.url.searchParams.get("page") ?? 1);
      if (page > 2) await Bun.sleep(100);
      const records =
        page === 1
          ? [{ id: 1, at: "2024-02-01T10:00:00Z" }, { id: 2, at: "2024-02-30T10:00:00Z" }]
          : [{ id: page * 10, at: "2024-03-01T10:00:00Z", [`field${page}`]: page }];
      const next = page < pages ? { link: `<${server.origin}/items?page=${page + 1}>; rel="next"` } : undefined;
      return json(records, next ? { headers: next } : {});
    });
    servers.push(server);
    const p = project(`${head(server.url)}\n[[resources]]\nname = "items"\nendpoint.paginator = "header_link"\n`);
    const result = await p.run(["--json"]);
    expect(result.code).toBe(1);
    const unit = JSON.parse(result.stdout).units[0];
    expect(unit.status).toBe("failed");
    expect(unit.error.message).toContain('Cannot load the rows of resource "items" into table "items"');
    expect(unit.error.message).toContain("2024-02-30");
    expect(unit.error.hint).toContain('data_type = "text"');
    // Extraction stopped well before the last page.
    expect(server.requests.length).toBeLessThan(pages);
    expect(await p.query("select count(*) as n from information_schema.tables where table_name = 'items'")).toEqual([{ n: 0 }]);
    expect(await p.query("select status from data._rl_loads")).toEqual([{ status: "failed" }]);
    // The staged files are gone.
    expect(readdirSync(p.dir).filter((name) => name.endsWith(".stage"))).toEqual([]);
  });
});
