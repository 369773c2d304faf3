// Segments load while the unit extracts, inside its open transaction. A record bringing a new
// column starts a new segment, so these tests split one load into several segments with a handful
// of records and check that merge, replace and failures still behave as one load.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { bunBin, mainTs, repoRoot } from "../helpers.ts";
import { json, startServer, serversStoppedAfterAll } from "../servers/server.ts";
import { loadError } from "../../src/run/index.ts";
import { mutableApi, project, testHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

const mutable = (initial: unknown[]) => mutableApi(servers, initial);

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
    const p = project(`${testHead(server.url)}${merge}`);
    const result = await p.run(["--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).units[0].rows_by_table).toEqual({ items: 2, items__tags: 3 });
    expect(await p.query("select id, v, extra1, extra2 from data.items order by id")).toEqual([
      { id: 1, v: "last", extra1: null, extra2: 2 },
      { id: 2, v: "second", extra1: 1, extra2: null },
    ]);
    expect(
      await p.query(
        "select i.id, t.name from data.items i join data.items__tags t on t._rl_root_id = i._rl_id order by i.id, t._rl_list_idx",
      ),
    ).toEqual([
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
    const p = project(`${testHead(server.url)}${merge}`);
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
    expect(
      await p.query(
        "select i.id, t.name from data.items i join data.items__tags t on t._rl_root_id = i._rl_id order by i.id, t._rl_list_idx",
      ),
    ).toEqual([
      { id: 1, name: "y" },
      { id: 1, name: "z" },
      { id: 2, name: "p" },
      { id: 3, name: "c" },
    ]);
    expect(await p.query("select count(*) as n from data.items__tags where _rl_root_id not in (select _rl_id from data.items)")).toEqual([
      { n: 0 },
    ]);
  });

  test("replace across segments leaves exactly this load's rows, child tables included", async () => {
    const { server, state } = mutable([{ id: 7, v: "gone", tags: [{ name: "old" }] }]);
    const p = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\nwrite_disposition = "replace"\n`);
    expect((await p.run()).code).toBe(0);
    state.records = splitLoad;
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id, v from data.items order by v")).toEqual([
      { id: 1, v: "first" },
      { id: 1, v: "last" },
      { id: 2, v: "second" },
    ]);
    expect(await p.query("select name from data.items__tags order by name")).toEqual([
      { name: "p" },
      { name: "x" },
      { name: "y" },
      { name: "z" },
    ]);
  });

  test("replace after a system_prefix change still removes every earlier row, child rows included", async () => {
    const { server, state } = mutable([{ id: 7, v: "gone", tags: [{ name: "old" }] }]);
    const resource = `\n[[resources]]\nname = "items"\nwrite_disposition = "replace"\n`;
    const p = project(`${testHead(server.url)}${resource}`);
    expect((await p.run()).code).toBe(0);
    writeFileSync(p.pipeline, `${testHead(server.url).replace('dataset = "data"', 'dataset = "data"\nsystem_prefix = "_x_"')}${resource}`);
    state.records = [{ id: 1, v: "new", tags: [{ name: "fresh" }] }];
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id, v from data.items")).toEqual([{ id: 1, v: "new" }]);
    expect(await p.query("select name from data.items__tags")).toEqual([{ name: "fresh" }]);
  });

  test("merge with a key repeated in the load keeps the child rows of earlier loads that carry no root id", async () => {
    // Loaded as append first: its child rows have no _rl_root_id.
    const { server, state } = mutable([
      { id: 1, tags: [{ n: "a" }] },
      { id: 2, tags: [{ n: "b" }] },
    ]);
    const p = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\n`);
    expect((await p.run()).code).toBe(0);
    writeFileSync(p.pipeline, `${testHead(server.url)}${merge}`);
    state.records = [
      { id: 4, tags: [{ n: "d" }] },
      { id: 4, tags: [{ n: "e" }] },
    ];
    const result = await p.run(["--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).units[0].rows_by_table).toEqual({ items: 1, items__tags: 1 });
    expect(await p.query("select n from data.items__tags order by n")).toEqual([{ n: "a" }, { n: "b" }, { n: "e" }]);
  });

  test("a table two resources of a unit write follows the first resource's disposition, whichever rows come first", async () => {
    // items (replace) and its child resource subs share table_name "items". In the second run the
    // child's list rows reach items__l before the parent's (the parent's second page is slow).
    const state = { pages: [[{ id: 1, l: [1] }]] as unknown[][], subs: { "1": [{ id: 100, l: [9] }] } as Record<string, unknown[]> };
    const server = startServer(async (request) => {
      const child = /^\/items\/(\d+)\/subs$/.exec(request.url.pathname);
      if (child) return json(state.subs[child[1]!] ?? []);
      const page = Number(request.url.searchParams.get("page") ?? 0);
      if (page > 0) await Bun.sleep(300);
      const next = page + 1 < state.pages.length ? { link: `<${server.origin}/items?page=${page + 1}>; rel="next"` } : undefined;
      return json(state.pages[page], next ? { headers: next } : {});
    });
    servers.push(server);
    const p = project(
      `${testHead(server.url)}\n[[resources]]\nname = "items"\nwrite_disposition = "replace"\nendpoint.paginator = "header_link"\n[[resources]]\nname = "subs"\ntable_name = "items"\nendpoint.path = "items/{resources.items.id}/subs"\n`,
    );
    expect((await p.run()).code).toBe(0);
    state.pages = [[{ id: 2 }], [{ id: 3, l: [3] }]];
    state.subs = { "2": [{ id: 200, l: [8] }] };
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id from data.items order by id")).toEqual([{ id: 2 }, { id: 3 }, { id: 200 }]);
    expect(await p.query("select value from data.items__l order by value")).toEqual([{ value: 3 }, { value: 8 }]);
  });

  for (const details of ["", 'write_disposition = "append"\n'])
    test(`merge: a key a child resource${details ? " (itself append)" : ""} repeats in its parent's table (list, then details) keeps one row, the last record's`, async () => {
      // items lists summaries; details fetches each item in full into the same table, later in the unit.
      const list = [
        { id: 1, title: "one" },
        { id: 2, title: "two" },
      ];
      const server = startServer(async (request) => {
        const detail = /^\/items\/(\d+)$/.exec(request.url.pathname);
        if (detail)
          return json({ id: Number(detail[1]), title: `item ${detail[1]}`, body: `full text ${detail[1]}`, tags: [`t${detail[1]}`] });
        return json(list);
      });
      servers.push(server);
      const p = project(
        `${testHead(server.url)}\n[resource_defaults]\nprimary_key = "id"\nwrite_disposition = "merge"\n[[resources]]\nname = "items"\n[[resources]]\nname = "details"\ntable_name = "items"\n${details}endpoint.path = "items/{resources.items.id}"\nendpoint.paginator = "single_page"\nendpoint.data_selector = "$"\n`,
      );
      for (let run = 0; run < 2; run++) {
        const ran = await p.run();
        expect(ran.stderr + ran.stdout).not.toContain("error");
        expect(ran.code).toBe(0);
        expect(await p.query("select id, title, body from data.items order by id")).toEqual([
          { id: 1, title: "item 1", body: "full text 1" },
          { id: 2, title: "item 2", body: "full text 2" },
        ]);
        expect(await p.query("select value from data.items__tags order by value")).toEqual([{ value: "t1" }, { value: "t2" }]);
      }
    });

  test("timestamps in any RFC 3339 spelling load as the same instant (lower-case t/z, no seconds)", async () => {
    const { server } = mutable([
      { id: 1, at: "2024-01-01T10:00:00Z" },
      { id: 2, at: "2024-01-01t10:00:00z" },
      { id: 3, at: "2024-01-01T10:00Z" },
      { id: 4, at: "2024-01-01 15:30+05:30" },
    ]);
    const p = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\n`);
    expect((await p.run()).code).toBe(0);
    expect(await p.query('select id, epoch("at") as seconds, typeof("at") as type from data.items order by id')).toEqual(
      [1, 2, 3, 4].map((id) => ({ id, seconds: 1704103200, type: "TIMESTAMP WITH TIME ZONE" })),
    );
  });

  /**
   * A table of 60 records over six slow pages, loaded once. For the second load, every page brings
   * a new column, so every page ends a segment that is loaded (with its ALTER TABLE) while the next
   * page is on its way. Returns the project, the server and the rows after the first load.
   */
  async function growingLoad() {
    const state = { second: false };
    const pageOf = (page: number) =>
      Array.from({ length: 10 }, (_, i) => {
        const id = page * 10 + i + 1;
        return state.second
          ? { id, title: `new ${id}`, [`f${page}`]: page, tags: [{ n: `x${id}` }] }
          : { id, title: `old ${id}`, tags: [{ n: `o${id}` }] };
      });
    const server = startServer(async (request) => {
      const page = Number(request.url.searchParams.get("page") ?? 0);
      await Bun.sleep(50);
      const next = page + 1 < 6 ? { link: `<${request.url.origin}/items?page=${page + 1}>; rel="next"` } : undefined;
      return json(pageOf(page), next ? { headers: next } : {});
    });
    servers.push(server);
    const p = project(`${testHead(server.url)}${merge}endpoint.paginator = "header_link"\n`);
    expect((await p.run()).code).toBe(0);
    const before = await p.query("select id, title from data.items order by id");
    expect(before).toHaveLength(60);
    state.second = true;
    return { p, server, before };
  }

  /** The database holds the first load only: no new column, no new row, no staged file; a rerun then completes the second load. */
  async function expectFirstLoadThenRerun({ p, before }: Awaited<ReturnType<typeof growingLoad>>): Promise<void> {
    expect(await p.query("select id, title from data.items order by id")).toEqual(before);
    expect(
      await p.query(
        "select count(*) as n from duckdb_columns() where schema_name = 'data' and table_name = 'items' and column_name like 'f%'",
      ),
    ).toEqual([{ n: 0 }]);
    expect(await p.query("select count(*) as n from data.items__tags")).toEqual([{ n: 60 }]);
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select count(*) as n, count(*) filter (where title like 'new %') as new from data.items")).toEqual([
      { n: 60, new: 60 },
    ]);
    expect(await p.query("select count(*) as n, count(*) filter (where n like 'x%') as new from data.items__tags")).toEqual([
      { n: 60, new: 60 },
    ]);
    expect(existsSync(`${p.database}.stage`)).toBe(false);
  }

  test("kill -9 after segments went in (new columns on an existing table, uncommitted): the database is as before, a rerun completes it", async () => {
    const load = await growingLoad();
    const crashed = Bun.spawn([bunBin, mainTs, "run", load.p.pipeline], {
      cwd: repoRoot,
      env: { ...process.env, RESTLOAD_CRASH_AT: "page_4:items" },
      stdout: "pipe",
      stderr: "pipe",
    });
    await crashed.exited;
    expect(crashed.signalCode).toBe("SIGKILL");
    await expectFirstLoadThenRerun(load);
  });

  test("SIGTERM while segments are loading: exit 143, the database as before, the run interrupted, no staged file left; a rerun completes it", async () => {
    const load = await growingLoad();
    const requestsBefore = load.server.requests.length;
    const proc = Bun.spawn([bunBin, mainTs, "run", load.p.pipeline], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
    // Pages 0-2 are in (their segments loaded or queued) and page 3 is being served.
    while (load.server.requests.length < requestsBefore + 4) await Bun.sleep(5);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(143);
    expect(existsSync(`${load.p.database}.stage`)).toBe(false);
    expect(await load.p.query("select status, error from data._rl_runs order by started_at")).toEqual([
      { status: "succeeded", error: null },
      { status: "interrupted", error: "interrupted by SIGTERM" },
    ]);
    expect(await load.p.query("select status from data._rl_loads order by started_at")).toEqual([
      { status: "committed" },
      { status: "failed" },
    ]);
    await expectFirstLoadThenRerun(load);
  });

  test("a segment DuckDB rejects at the commit burst rolls the unit back and names the resource", async () => {
    // Page 1 holds an amount too wide for the declared DECIMAL(4,2); page 2 brings a new column, so
    // page 1's segment is complete while later, slow pages are still coming; it waits for the commit.
    const pages = 20;
    const server = startServer(async (request) => {
      const page = Number(request.url.searchParams.get("page") ?? 1);
      if (page > 2) await Bun.sleep(100);
      const records =
        page === 1
          ? [
              { id: 1, amount: 1.5 },
              { id: 2, amount: 123456.78 },
            ]
          : [{ id: page * 10, amount: 2.25, [`field${page}`]: page }];
      const next = page < pages ? { link: `<${server.origin}/items?page=${page + 1}>; rel="next"` } : undefined;
      return json(records, next ? { headers: next } : {});
    });
    servers.push(server);
    const p = project(
      `${testHead(server.url)}\n[[resources]]\nname = "items"\nendpoint.paginator = "header_link"\ncolumns.amount = { data_type = "decimal", precision = 4, scale = 2 }\n`,
    );
    const result = await p.run(["--json"]);
    expect(result.code).toBe(1);
    const unit = JSON.parse(result.stdout).units[0];
    expect(unit.status).toBe("failed");
    expect(unit.error.message).toContain('Cannot load the rows of resource "items" into table "items"');
    expect(unit.error.message).toContain("123456.78");
    expect(unit.error.hint).toContain("columns.<field>");
    // Small segments of a slow API wait on disk (the file free) until the commit burst, where the
    // rejected one is loaded: every page was asked for, nothing of them committed.
    expect(server.requests.length).toBe(pages);
    expect(await p.query("select count(*) as n from information_schema.tables where table_name = 'items'")).toEqual([{ n: 0 }]);
    expect(await p.query("select status from data._rl_loads")).toEqual([{ status: "failed" }]);
    // The staged files are gone.
    expect(readdirSync(p.dir).filter((name) => name.endsWith(".stage"))).toEqual([]);
  });

  test("a value shaped like a timestamp that names no real moment goes to a variant column, kept as text", async () => {
    const { server } = mutable([
      { id: 1, at: "2024-02-01T10:00:00Z" },
      { id: 2, at: "2024-02-30T10:00:00Z" },
      { id: 3, at: "2024-06-30T23:59:60Z" },
    ]);
    const p = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\n`);
    expect((await p.run()).code).toBe(0);
    expect(await p.query('select id, epoch("at") as seconds, at__v_text as text from data.items order by id')).toEqual([
      { id: 1, seconds: 1706781600, text: null },
      { id: 2, seconds: null, text: "2024-02-30T10:00:00Z" },
      { id: 3, seconds: null, text: "2024-06-30T23:59:60Z" },
    ]);
  });

  test("a full disk fails the unit with a hint naming the database (DuckDB's own wording, as seen on a full tmpfs)", () => {
    const error = loadError(
      new Error(
        'TransactionContext Error: Failed to commit: Could not write file "/srv/x.duckdb.wal": No space left on device (in: COMMIT)',
      ),
      {
        database: "/srv/x.duckdb",
        duckdb_memory_limit: "128MB",
      },
    );
    expect(error.code).toBe("E_LOAD");
    expect(error.message).toStartWith("The disk holding /srv/x.duckdb is full: ");
    expect(error.hint).toContain("Free space on that disk");
    expect(
      loadError(new Error("ENOSPC: no space left on device, write"), { database: "/srv/x.duckdb", duckdb_memory_limit: "128MB" }).hint,
    ).toContain("Free space");
  });

  test("other failures keep their own message: a system error is E_IO, anything else E_INTERNAL", () => {
    const plan = { database: "/srv/x.duckdb", duckdb_memory_limit: "128MB" };
    const denied = Object.assign(new Error("EACCES: permission denied, open '/srv/x.duckdb.stage/1/items.csv'"), { code: "EACCES" });
    expect(loadError(denied, plan)).toMatchObject({ code: "E_IO", message: denied.message });
    expect(loadError(new TypeError("Cannot read properties of undefined (reading 'id')"), plan)).toMatchObject({
      code: "E_INTERNAL",
      message: "Cannot read properties of undefined (reading 'id')",
    });
  });
});
