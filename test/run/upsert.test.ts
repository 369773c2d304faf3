// The upsert merge strategy: rows updated in place by primary key (they keep their place, `rowid`,
// and their `_rl_id`), new keys inserted, rows the load lacks untouched, child rows of an updated
// row replaced; across checkpoints of one unit, and all or nothing when the run is killed.
import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { type TestServer, startServer, serversStoppedAfterAll } from "../servers/server.ts";
import { checkpointHead, linkedPage, mutableApi, type Project, project, spawnRun, testHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

const upsertResource = `[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = { disposition = "merge", strategy = "upsert" }\n`;

const issues = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    title: `t${i + 1}`,
    note: `n${i + 1}`,
    labels: [{ name: "bug" }, { name: `l${i + 1}` }],
  }));

/** Every root row with its DuckDB rowid (its place in the table), ids and load id, by key. */
async function rootRows(p: Project): Promise<Record<string, unknown>[]> {
  return p.query("select id, rowid as place, _rl_id, _rl_load_id, title, note from data.items order by id");
}

/** Each root row's child rows, joined by parent id, in list order. */
async function labelsByItem(p: Project): Promise<Record<string, unknown>[]> {
  return p.query(
    "select i.id, l.name, l._rl_root_id = i._rl_id as rooted from data.items i join data.items__labels l on l._rl_parent_id = i._rl_id order by i.id, l._rl_list_idx",
  );
}

describe("upsert", () => {
  test("updates the row of a key in place, inserts new keys, and leaves the rows of absent keys as they were", async () => {
    const { server, state } = mutableApi(servers, issues(5));
    const p = project(`${testHead(server.url)}\n${upsertResource}`);
    expect((await p.run()).code).toBe(0);
    const before = await rootRows(p);
    state.records = [
      { id: 2, title: "changed", labels: [{ name: "feature" }] },
      issues(5)[2]!,
      { id: 6, title: "new", note: "n6", labels: [{ name: "fresh" }] },
    ];
    expect((await p.run()).code).toBe(0);
    const after = await rootRows(p);
    expect(after.length).toBe(6);
    // Keys the load lacks, and a record equal to its row: not deleted, not rewritten (same place, id and load id).
    for (const id of [1, 3, 4, 5]) expect(after.find((row) => row.id === id)).toEqual(before.find((row) => row.id === id)!);
    // The updated key: the same row (place and _rl_id kept), the record's values, NULL where it has none.
    const [old2, new2] = [before.find((row) => row.id === 2)!, after.find((row) => row.id === 2)!];
    expect({ place: new2.place, _rl_id: new2._rl_id }).toEqual({ place: old2.place, _rl_id: old2._rl_id });
    expect({ title: new2.title, note: new2.note }).toEqual({ title: "changed", note: null });
    expect(new2._rl_load_id).not.toBe(old2._rl_load_id);
    expect(after.find((row) => row.id === 6)).toMatchObject({ title: "new", note: "n6", _rl_load_id: new2._rl_load_id });
    // Child rows: the updated row's are the record's, every other row keeps its own.
    expect(await labelsByItem(p)).toEqual([
      { id: 1, name: "bug", rooted: true },
      { id: 1, name: "l1", rooted: true },
      { id: 2, name: "feature", rooted: true },
      { id: 3, name: "bug", rooted: true },
      { id: 3, name: "l3", rooted: true },
      { id: 4, name: "bug", rooted: true },
      { id: 4, name: "l4", rooted: true },
      { id: 5, name: "bug", rooted: true },
      { id: 5, name: "l5", rooted: true },
      { id: 6, name: "fresh", rooted: true },
    ]);
    expect(await p.query("select count(*) as n from data.items__labels")).toEqual([{ n: 10 }]);
    const [load] = await p.query("select rows_by_table::varchar as rows from data._rl_loads order by finished_at desc limit 1");
    // Rows written: the updated and the inserted one; child rows: those of every record of the load.
    expect(JSON.parse(String(load!.rows))).toEqual({ items: 2, items__labels: 4 });
  });

  test("a key repeated inside one load: its last record wins, with its child rows", async () => {
    const { server, state } = mutableApi(servers, [
      { id: 1, v: "old", tags: ["x"] },
      { id: 2, v: "two", tags: ["w"] },
      { id: 1, v: "new", tags: ["y", "z"] },
    ]);
    const p = project(`${testHead(server.url)}\n${upsertResource}`);
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id, v from data.items order by id")).toEqual([
      { id: 1, v: "new" },
      { id: 2, v: "two" },
    ]);
    const tags = "select i.id, t.value from data.items i join data.items__tags t on t._rl_root_id = i._rl_id order by i.id, t._rl_list_idx";
    expect(await p.query(tags)).toEqual([
      { id: 1, value: "y" },
      { id: 1, value: "z" },
      { id: 2, value: "w" },
    ]);
    const [kept] = await p.query("select _rl_id from data.items where id = 1");
    state.records = [
      { id: 1, v: "first", tags: ["a"] },
      { id: 1, v: "last", tags: ["b", "c", "d"] },
    ];
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id, v, _rl_id from data.items order by id")).toEqual([
      { id: 1, v: "last", _rl_id: kept!._rl_id },
      { id: 2, v: "two", _rl_id: expect.any(String) },
    ]);
    expect(await p.query(tags)).toEqual([
      { id: 1, value: "b" },
      { id: 1, value: "c" },
      { id: 1, value: "d" },
      { id: 2, value: "w" },
    ]);
    expect(await p.query("select count(*) as n from data.items__tags")).toEqual([{ n: 4 }]);
  });

  test("--full-refresh replaces the table with the load, the last record of each key", async () => {
    const { server, state } = mutableApi(servers, issues(3));
    const p = project(`${testHead(server.url)}\n${upsertResource}`);
    expect((await p.run()).code).toBe(0);
    state.records = [
      { id: 7, title: "first", labels: [{ name: "a" }] },
      { id: 7, title: "last", labels: [{ name: "b" }] },
    ];
    expect((await p.run(["--full-refresh"])).code).toBe(0);
    expect(await p.query("select id, title from data.items")).toEqual([{ id: 7, title: "last" }]);
    expect(await p.query("select name from data.items__labels")).toEqual([{ name: "b" }]);
  });

  test("without a primary key it is a configuration error, before anything is fetched or written", async () => {
    const { server } = mutableApi(servers, issues(2));
    const p = project(
      `${testHead(server.url)}\n[[resources]]\nname = "items"\nwrite_disposition = { disposition = "merge", strategy = "upsert" }\n`,
    );
    const result = await p.run();
    expect(result.code).toBe(78);
    expect(result.stderr).toContain("resources[0].write_disposition.strategy");
    expect(result.stderr).toContain(
      'the merge strategy "upsert" of resources[0] (from resource_defaults when not set on the resource) updates the row of each primary key: set primary_key',
    );
    expect(server.requests.length).toBe(0);
    expect(existsSync(p.database)).toBe(false);
  });

  test("a composite key matches only where every part does; rows appended before the table was an upsert table all take the record", async () => {
    const { server, state } = mutableApi(servers, [
      { org: "a", n: 1, v: "x" },
      { org: "a", n: 1, v: "x again" },
      { org: "a", n: 2, v: "y" },
      { org: "b", n: 1, v: "z" },
    ]);
    const appended = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\n`);
    expect((await appended.run()).code).toBe(0);
    const ids = await appended.query("select org, n, _rl_id from data.items order by org, n, v");
    writeFileSync(
      appended.pipeline,
      `${testHead(server.url)}\n[[resources]]\nname = "items"\nprimary_key = ["org", "n"]\nwrite_disposition = { disposition = "merge", strategy = "upsert" }\n`,
    );
    // (b, 2) shares its org with (b, 1) and its n with (a, 2): a new key all the same.
    state.records = [
      { org: "a", n: 1, v: "new" },
      { org: "b", n: 2, v: "w" },
    ];
    expect((await appended.run()).code).toBe(0);
    expect(await appended.query("select org, n, v from data.items order by org, n, v")).toEqual([
      { org: "a", n: 1, v: "new" },
      { org: "a", n: 1, v: "new" },
      { org: "a", n: 2, v: "y" },
      { org: "b", n: 1, v: "z" },
      { org: "b", n: 2, v: "w" },
    ]);
    // Both rows of (a, 1) take the smaller of their ids; the rows of other keys keep theirs.
    const kept = [ids[0]!._rl_id, ids[1]!._rl_id].sort()[0];
    expect(await appended.query("select org, n, _rl_id from data.items where not (org = 'b' and n = 2) order by org, n, v")).toEqual([
      { org: "a", n: 1, _rl_id: kept },
      { org: "a", n: 1, _rl_id: kept },
      ids[2]!,
      ids[3]!,
    ]);
  });

  test("killed before its commit, the run leaves the table as it was; the rerun upserts", async () => {
    const { server, state } = mutableApi(servers, issues(4));
    const p = project(`${testHead(server.url)}\n${upsertResource}`);
    expect((await p.run()).code).toBe(0);
    const [rows, labels] = [await rootRows(p), await labelsByItem(p)];
    state.records = [
      { id: 1, title: "changed", labels: [] },
      { id: 9, title: "new", labels: [{ name: "x" }] },
    ];
    const crashed = spawnRun(p.pipeline, { RESTLOAD_CRASH_AT: "before_commit:items" });
    await crashed.proc.exited;
    expect(crashed.proc.signalCode).toBe("SIGKILL");
    expect(await rootRows(p)).toEqual(rows);
    expect(await labelsByItem(p)).toEqual(labels);
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id, title from data.items order by id")).toEqual([
      { id: 1, title: "changed" },
      { id: 2, title: "t2" },
      { id: 3, title: "t3" },
      { id: 4, title: "t4" },
      { id: 9, title: "new" },
    ]);
    expect(
      await p.query("select count(*) as n from data.items__labels l join data.items i on l._rl_root_id = i._rl_id where i.id = 1"),
    ).toEqual([{ n: 0 }]);
    expect((await rootRows(p)).find((row) => row.id === 1)).toMatchObject({ place: rows[0]!.place, _rl_id: rows[0]!._rl_id });
  });
});

// ---------------------------------------------------------------------------------------------
// Across checkpoints: an incremental resource ordered by its cursor commits at page boundaries; a
// key that comes again on a later page updates the row an earlier checkpoint committed.

interface Change {
  id: number;
  seq: number;
  v: string;
  parts: string[];
}

/** Ten changes in cursor order; keys 1 and 2 change again on the last pages. */
const changes: Change[] = [
  ...Array.from({ length: 8 }, (_, i) => ({ id: i + 1, seq: i + 1, v: `v${i + 1}`, parts: [`p${i + 1}`, "common"] })),
  { id: 1, seq: 9, v: "v1 again", parts: ["q1"] },
  { id: 2, seq: 10, v: "v2 again", parts: [] },
];

function changesApi(delayMs: number): TestServer {
  const server = startServer(async (request) => {
    await Bun.sleep(delayMs);
    const since = Number(request.url.searchParams.get("since") ?? 0);
    return linkedPage(
      request,
      changes.filter((change) => change.seq >= since),
      2,
    );
  });
  servers.push(server);
  return server;
}

const checkpointed = (url: string) =>
  `${checkpointHead(url)}\n${upsertResource}endpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "seq", initial_value = 0, start_param = "since", row_order = "asc" }\n`;

/** The table after all ten changes: one row per key, the last change of keys 1 and 2, child rows of the last change only. */
async function expectAllChanges(p: Project): Promise<void> {
  expect(await p.query("select id, v, seq from data.items order by id")).toEqual(
    Array.from({ length: 8 }, (_, i) => {
      const last = changes.findLast((change) => change.id === i + 1)!;
      return { id: last.id, v: last.v, seq: last.seq };
    }),
  );
  expect(
    await p.query(
      "select i.id, p.value from data.items i join data.items__parts p on p._rl_parent_id = i._rl_id order by i.id, p._rl_list_idx",
    ),
  ).toEqual(
    Array.from({ length: 8 }, (_, i) => changes.findLast((change) => change.id === i + 1)!).flatMap((change) =>
      change.parts.map((value) => ({ id: change.id, value })),
    ),
  );
  expect(await p.query("select count(*) as n from data.items__parts where _rl_root_id not in (select _rl_id from data.items)")).toEqual([
    { n: 0 },
  ]);
}

describe("upsert across checkpoints", () => {
  test("a key in a later checkpoint updates, in place, the row an earlier checkpoint committed", async () => {
    const p = project(checkpointed(changesApi(30).url));
    expect((await p.run()).code).toBe(0);
    const [loads] = await p.query("select count(*) as n from data._rl_loads where unit = 'items' and status = 'committed'");
    expect(Number(loads!.n)).toBeGreaterThanOrEqual(2);
    await expectAllChanges(p);
    // Key 1 was inserted by the first checkpoint and updated by the last one: still in its first place.
    const places = await p.query("select id, rowid as place, _rl_load_id from data.items order by id");
    const [first, last] = [places.find((row) => row.id === 1)!, places.find((row) => row.id === 8)!];
    expect(Number(first.place)).toBeLessThan(Number(last.place));
    expect(Number(first._rl_load_id)).toBeGreaterThan(Number(last._rl_load_id));
  });

  test("killed before its second checkpoint, the run keeps the first one; the rerun resumes to the same table", async () => {
    const p = project(checkpointed(changesApi(30).url));
    const crashed = spawnRun(p.pipeline, { RESTLOAD_CRASH_AT: "before_checkpoint_2:items" });
    await crashed.proc.exited;
    expect(crashed.proc.signalCode).toBe("SIGKILL");
    const [loads] = await p.query("select count(*) as n from data._rl_loads where unit = 'items' and status = 'committed'");
    expect(Number(loads!.n)).toBe(1);
    const [committed] = await p.query("select count(*) as n, max(seq) as seq from data.items");
    const [cursor] = await p.query("select last_value from data._rl_state where resource = 'items'");
    expect(String(cursor!.last_value)).toBe(String(committed!.seq));
    expect((await p.run()).code).toBe(0);
    await expectAllChanges(p);
  });
});
