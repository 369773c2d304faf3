// The scd2 merge strategy: a version row per content of a record, the changed record's earlier
// version closed and an absent one retired (valid_to = the load's time) only after a complete
// extract, unchanged records left alone, child rows belonging to their version; all or nothing
// when the run is killed; the content hash that names a version.
import { describe, expect, test } from "bun:test";
import { IncrementalCursor } from "../../src/extract/incremental.ts";
import { rowHash } from "../../src/normalize/row-hash.ts";
import { runMain } from "../helpers.ts";
import { json, type TestServer, startServer, serversStoppedAfterAll } from "../servers/server.ts";
import { incremental, linkedPage, mutableApi, type Project, project, spawnRun, testHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

const scd2Resource = (extra = "") =>
  `[[resources]]\nname = "items"\nwrite_disposition = { disposition = "merge", strategy = "scd2" }\n${extra}`;

const records = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `r${i + 1}`, tags: [`a${i % 3}`, "b"] }));

/** Every version row: its record id, content hash, validity and place, in a stable order. */
async function versions(p: Project): Promise<Record<string, unknown>[]> {
  return p.query(
    "select id, name, _rl_id, _rl_load_id, rowid as place, _rl_valid_from::varchar as valid_from, _rl_valid_to::varchar as valid_to from data.items order by id, _rl_valid_from",
  );
}

async function counts(p: Project): Promise<{ rows: number; current: number; closed: number }> {
  const [row] = await p.query(
    "select count(*) as rows, count(*) filter (where _rl_valid_to is null) as current, count(*) filter (where _rl_valid_to is not null) as closed from data.items",
  );
  return { rows: Number(row!.rows), current: Number(row!.current), closed: Number(row!.closed) };
}

describe("scd2", () => {
  test("20 of 300 records change: 320 rows, 300 current, 20 closed at the new versions' start; an unchanged run changes nothing", async () => {
    const { server, state } = mutableApi(servers, records(300));
    const p = project(`${testHead(server.url)}\n${scd2Resource()}`);
    expect((await p.run()).code).toBe(0);
    expect(await counts(p)).toEqual({ rows: 300, current: 300, closed: 0 });
    // valid_from is the load's time: the instant its load id names, the same for every row.
    expect(
      await p.query(
        "select count(distinct _rl_valid_from) as starts, max(abs(epoch_us(_rl_valid_from) - replace(_rl_load_id, '.', '')::bigint)) as off from data.items",
      ),
    ).toEqual([{ starts: 1, off: 0 }]);

    state.records = records(300).map((record) => (record.id <= 20 ? { ...record, name: `changed ${record.id}` } : record));
    expect((await p.run()).code).toBe(0);
    expect(await counts(p)).toEqual({ rows: 320, current: 300, closed: 20 });
    expect(await p.query("select id from data.items where _rl_valid_to is not null order by id")).toEqual(
      Array.from({ length: 20 }, (_, i) => ({ id: i + 1 })),
    );
    // Each closed version ends when its record's current version starts; the current one has the new name.
    expect(
      await p.query(
        "select count(*) as n from data.items old join data.items now on old.id = now.id where old._rl_valid_to = now._rl_valid_from and now._rl_valid_to is null and now.name = 'changed ' || now.id",
      ),
    ).toEqual([{ n: 20 }]);
    expect(await p.query("select count(distinct _rl_valid_from) as starts from data.items")).toEqual([{ starts: 2 }]);

    const before = await versions(p);
    const beforeTags = await p.query("select _rl_id, _rl_parent_id, value from data.items__tags order by _rl_id");
    expect((await p.run()).code).toBe(0);
    expect(await versions(p)).toEqual(before);
    expect(await p.query("select _rl_id, _rl_parent_id, value from data.items__tags order by _rl_id")).toEqual(beforeTags);
    const [load] = await p.query("select rows_by_table::varchar as rows from data._rl_loads order by finished_at desc limit 1");
    expect(JSON.parse(String(load!.rows))).toEqual({ items: 0, items__tags: 0 });
  });

  test("a record missing from a full extract is retired; when it comes back it is a new version", async () => {
    const { server, state } = mutableApi(servers, records(5));
    const p = project(`${testHead(server.url)}\n${scd2Resource('primary_key = "id"\n')}`);
    expect((await p.run()).code).toBe(0);
    state.records = records(4);
    expect((await p.run()).code).toBe(0);
    expect(await counts(p)).toEqual({ rows: 5, current: 4, closed: 1 });
    const [retired] = await p.query("select id, _rl_valid_to is not null as closed, _rl_id from data.items where _rl_valid_to is not null");
    expect(retired).toMatchObject({ id: 5, closed: true });
    state.records = records(5);
    expect((await p.run()).code).toBe(0);
    expect(await counts(p)).toEqual({ rows: 6, current: 5, closed: 1 });
    // The same content has the same hash: the returning record's version shares the retired one's.
    expect(await p.query("select count(*) as n, count(distinct _rl_valid_from) as starts from data.items where id = 5")).toEqual([
      { n: 2, starts: 2 },
    ]);
    expect(await p.query("select count(distinct _rl_id) as ids from data.items where id = 5")).toEqual([{ ids: 1 }]);
  });

  test("child rows follow their version: a changed record's old children stay with the old version, the new version has its own", async () => {
    const { server, state } = mutableApi(servers, [
      { id: 1, name: "same", labels: [{ name: "x" }, { name: "y" }] },
      { id: 2, name: "before", labels: [{ name: "old" }] },
      { id: 3, name: "keeps name", labels: [{ name: "l1" }] },
    ]);
    const p = project(`${testHead(server.url)}\n${scd2Resource('primary_key = "id"\n')}`);
    expect((await p.run()).code).toBe(0);
    state.records = [
      { id: 1, name: "same", labels: [{ name: "x" }, { name: "y" }] },
      { id: 2, name: "after", labels: [{ name: "new" }, { name: "newer" }] },
      // Only a child list changed: still a new version (the hash covers nested data, as dlt's).
      { id: 3, name: "keeps name", labels: [{ name: "l1" }, { name: "l2" }] },
    ];
    expect((await p.run()).code).toBe(0);
    const byVersion =
      "select i.id, i.name, i._rl_valid_to is null as current, l.name as label, l._rl_root_id = i._rl_id as rooted from data.items i join data.items__labels l on l._rl_parent_id = i._rl_id order by i.id, current, l._rl_list_idx";
    expect(await p.query(byVersion)).toEqual([
      { id: 1, name: "same", current: true, label: "x", rooted: true },
      { id: 1, name: "same", current: true, label: "y", rooted: true },
      { id: 2, name: "before", current: false, label: "old", rooted: true },
      { id: 2, name: "after", current: true, label: "new", rooted: true },
      { id: 2, name: "after", current: true, label: "newer", rooted: true },
      { id: 3, name: "keeps name", current: false, label: "l1", rooted: true },
      { id: 3, name: "keeps name", current: true, label: "l1", rooted: true },
      { id: 3, name: "keeps name", current: true, label: "l2", rooted: true },
    ]);
    expect(await p.query("select count(*) as n, count(distinct _rl_id) as ids from data.items__labels")).toEqual([{ n: 8, ids: 8 }]);
  });

  test("inside one load, equal records are one version, and with primary_key the last record of a key wins", async () => {
    const same = { id: 1, name: "twice", tags: ["x", "y"] };
    const { server } = mutableApi(servers, [same, { id: 2, name: "first", tags: ["a"] }, same, { id: 2, name: "last", tags: ["b"] }]);
    const withoutKey = project(`${testHead(server.url)}\n${scd2Resource()}`);
    expect((await withoutKey.run()).code).toBe(0);
    expect(await withoutKey.query("select id, name from data.items order by id, name")).toEqual([
      { id: 1, name: "twice" },
      { id: 2, name: "first" },
      { id: 2, name: "last" },
    ]);
    expect(await withoutKey.query("select count(*) as n from data.items__tags")).toEqual([{ n: 4 }]);
    const withKey = project(`${testHead(server.url)}\n${scd2Resource('primary_key = "id"\n')}`);
    expect((await withKey.run()).code).toBe(0);
    expect(await withKey.query("select id, name from data.items order by id")).toEqual([
      { id: 1, name: "twice" },
      { id: 2, name: "last" },
    ]);
    expect(
      await withKey.query(
        "select i.id, t.value from data.items i join data.items__tags t on t._rl_root_id = i._rl_id order by i.id, t._rl_list_idx",
      ),
    ).toEqual([
      { id: 1, value: "x" },
      { id: 1, value: "y" },
      { id: 2, value: "b" },
    ]);
  });

  test("killed before its commit, the run leaves the table as it was; the rerun adds the versions", async () => {
    const { server, state } = mutableApi(servers, records(10));
    const p = project(`${testHead(server.url)}\n${scd2Resource()}`);
    expect((await p.run()).code).toBe(0);
    const before = await versions(p);
    const tags = "select _rl_id, _rl_parent_id, value from data.items__tags order by _rl_id";
    const beforeTags = await p.query(tags);
    state.records = records(8).map((record) => (record.id === 1 ? { ...record, name: "changed" } : record));
    const crashed = spawnRun(p.pipeline, { RESTLOAD_CRASH_AT: "before_commit:items" });
    await crashed.proc.exited;
    expect(crashed.proc.signalCode).toBe("SIGKILL");
    expect(await versions(p)).toEqual(before);
    expect(await p.query(tags)).toEqual(beforeTags);
    expect((await p.run()).code).toBe(0);
    expect(await counts(p)).toEqual({ rows: 11, current: 8, closed: 3 });
  });

  test("with an incremental cursor, absent records stay current and a changed record's earlier version closes by primary key", async () => {
    const source = [
      { id: 1, updated: 1, name: "a" },
      { id: 2, updated: 2, name: "b" },
      { id: 3, updated: 3, name: "c" },
    ];
    const server = startServer((request) => {
      const since = Number(request.url.searchParams.get("since") ?? 0);
      return linkedPage(
        request,
        source.filter((record) => record.updated >= since),
        10,
      );
    });
    servers.push(server);
    const p = project(
      `${testHead(server.url)}\n${scd2Resource('primary_key = "id"\nendpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "updated", initial_value = 0, start_param = "since" }\n')}`,
    );
    expect((await p.run()).code).toBe(0);
    source[1] = { id: 2, updated: 4, name: "b changed" };
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id, name, _rl_valid_to is null as current from data.items order by id, _rl_valid_from")).toEqual([
      { id: 1, name: "a", current: true },
      { id: 2, name: "b", current: false },
      { id: 2, name: "b changed", current: true },
      { id: 3, name: "c", current: true },
    ]);
  });

  test("merge_key retires only absent rows whose merge_key the load has (as dlt)", async () => {
    const { server, state } = mutableApi(servers, [
      { day: "d1", name: "a" },
      { day: "d1", name: "b" },
      { day: "d2", name: "c" },
    ]);
    const p = project(`${testHead(server.url)}\n${scd2Resource('merge_key = "day"\n')}`);
    expect((await p.run()).code).toBe(0);
    state.records = [
      { day: "d1", name: "a" },
      { day: "d1", name: "bb" },
    ];
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select day, name, _rl_valid_to is null as current from data.items order by name")).toEqual([
      { day: "d1", name: "a", current: true },
      { day: "d1", name: "b", current: false },
      { day: "d1", name: "bb", current: true },
      { day: "d2", name: "c", current: true },
    ]);
  });

  test("the validity columns follow system_prefix, and --full-refresh starts the history again", async () => {
    const { server, state } = mutableApi(servers, records(3));
    const p = project(
      `${testHead(server.url).replace('dataset = "data"', 'dataset = "data"\nsystem_prefix = "_dlt_"')}\n${scd2Resource()}`,
    );
    expect((await p.run()).code).toBe(0);
    state.records = records(2);
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select count(*) filter (where _dlt_valid_to is null) as current, count(*) as n from data.items")).toEqual([
      { current: 2, n: 3 },
    ]);
    expect((await p.run(["--full-refresh"])).code).toBe(0);
    expect(
      await p.query(
        "select count(*) filter (where _dlt_valid_to is null) as current, count(*) as n, count(distinct _dlt_valid_from) as starts from data.items",
      ),
    ).toEqual([{ current: 2, n: 2, starts: 1 }]);
    expect(await p.query("select count(*) as n from data.items__tags")).toEqual([{ n: 4 }]);
  });

  test("check shows the strategy, and that a full-extract scd2 unit commits once", async () => {
    const p = project(`${testHead("https://api.example.com/")}\n${scd2Resource()}`);
    const result = await runMain(["check", p.pipeline, "--json"]);
    expect(result.code).toBe(0);
    const planned = JSON.parse(result.stdout);
    expect(planned.resources[0].write_disposition).toEqual({ disposition: "merge", strategy: "scd2" });
    expect(planned.units[0].checkpoints).toEqual({
      mode: "end",
      reason: 'table "items" retires the records its extract lacks (strategy = "scd2")',
    });
    expect(planned.warnings).toEqual([]);
    const text = await runMain(["check", p.pipeline]);
    expect(text.stdout).toContain("items: merge (scd2)");
  });
});

/** Two records a page by `page` (from 0); the pages in `missing` answer 404. */
function pagedApi(initial: unknown[]): { server: TestServer; state: { records: unknown[]; missing: number[] } } {
  const state = { records: initial, missing: [] as number[] };
  const server = startServer((request) => {
    const page = Number(request.url.searchParams.get("page") ?? 0);
    if (state.missing.includes(page)) return json({ message: "no such page" }, { status: 404 });
    return json(state.records.slice(page * 2, page * 2 + 2));
  });
  servers.push(server);
  return { server, state };
}

async function checkOf(p: Project): Promise<{ warnings: string[]; units: { checkpoints: unknown }[] }> {
  const result = await runMain(["check", p.pipeline, "--json"]);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

describe("scd2 on an extract that may stop early on purpose", () => {
  test("a paginator limit (maximum_page): records past it stay current, and check says why nothing is retired", async () => {
    const { server, state } = pagedApi(records(4));
    const p = project(
      `${testHead(server.url)}\n${scd2Resource('primary_key = "id"\nendpoint.paginator = { type = "page_number", maximum_page = 2 }\n')}`,
    );
    expect((await p.run()).code).toBe(0);
    expect(await counts(p)).toEqual({ rows: 4, current: 4, closed: 0 });
    // Two new records come first: records 3 and 4 move past the limit, and are not in the load.
    state.records = [{ id: 5, name: "r5", tags: [] }, { id: 6, name: "r6", tags: [] }, ...records(4)];
    expect((await p.run()).code).toBe(0);
    expect(await counts(p)).toEqual({ rows: 6, current: 6, closed: 0 });
    const checked = await checkOf(p);
    expect(checked.warnings).toEqual([
      'resource "items": strategy = "scd2" retires no record absent from a load, as its paginator stops at maximum_page = 2, which may come before the last record; a changed record\'s earlier version still closes by primary_key',
    ]);
    expect(checked.units[0]!.checkpoints).toEqual({ mode: "end", reason: "the root resource has no incremental cursor" });
  });

  test("an ignored response ends the pages: the records after it stay current", async () => {
    const { server, state } = pagedApi(records(4));
    const p = project(
      `${testHead(server.url)}\n${scd2Resource('primary_key = "id"\nendpoint.paginator = "page_number"\nendpoint.response_actions = [{ status_code = 404, action = "ignore" }]\n')}`,
    );
    expect((await p.run()).code).toBe(0);
    expect(await counts(p)).toEqual({ rows: 4, current: 4, closed: 0 });
    state.missing = [1];
    expect((await p.run()).code).toBe(0);
    expect(await counts(p)).toEqual({ rows: 4, current: 4, closed: 0 });
    expect((await checkOf(p)).warnings).toEqual([
      'resource "items": strategy = "scd2" retires no record absent from a load, as a response it ignores (response_actions, action = "ignore") leaves that page\'s records out and may end its pages; a changed record\'s earlier version still closes by primary_key',
    ]);
  });

  test("a complete extract with a paginator that has no limit still retires what it lacks", async () => {
    const { server, state } = pagedApi(records(4));
    const p = project(`${testHead(server.url)}\n${scd2Resource('primary_key = "id"\nendpoint.paginator = "page_number"\n')}`);
    expect((await p.run()).code).toBe(0);
    state.records = records(3);
    expect((await p.run()).code).toBe(0);
    expect(await counts(p)).toEqual({ rows: 4, current: 3, closed: 1 });
    expect((await checkOf(p)).warnings).toEqual([]);
  });

  test("check warns where scd2 without a key keeps several current versions: incremental, child and limited resources", async () => {
    const p = project(`${testHead("https://api.example.com/")}
[[resources]]
name = "items"
[[resources]]
name = "events"
write_disposition = { disposition = "merge", strategy = "scd2" }
endpoint.incremental = { cursor_path = "updated", initial_value = 0, start_param = "since" }
[[resources]]
name = "details"
write_disposition = { disposition = "merge", strategy = "scd2" }
endpoint.path = "items/{resources.items.id}"
[[resources]]
name = "notes"
write_disposition = { disposition = "merge", strategy = "scd2" }
endpoint.path = "notes"
endpoint.params.item = { type = "resolve", resource = "items", field = "id" }
[[resources]]
name = "pages"
write_disposition = { disposition = "merge", strategy = "scd2" }
endpoint.paginator = { type = "offset", limit = 10, maximum_offset = 100 }
[[resources]]
name = "keyed_events"
primary_key = "id"
write_disposition = { disposition = "merge", strategy = "scd2" }
endpoint.incremental = { cursor_path = "updated", initial_value = 0, start_param = "since" }
[[resources]]
name = "by_day"
merge_key = "day"
write_disposition = { disposition = "merge", strategy = "scd2" }
endpoint.path = "days/{resources.items.id}"
[[resources]]
name = "whole"
write_disposition = { disposition = "merge", strategy = "scd2" }
`);
    const keyless = (name: string, reason: string) =>
      `resource "${name}": strategy = "scd2" without primary_key or merge_key keeps the earlier versions of a changed record current, as ${reason} (records absent from a load are not retired); set primary_key`;
    expect((await checkOf(p)).warnings).toEqual([
      keyless("events", "its incremental cursor fetches only what changed"),
      keyless("details", "it is a child resource, whose records come per parent record"),
      keyless("notes", "it is a child resource, whose records come per parent record"),
      keyless("pages", "its paginator stops at maximum_offset = 100, which may come before the last record"),
    ]);
  });
});

// scd2 version ids and the boundary keys of an incremental cursor without a primary key are both
// hashes of a record's canonical JSON (util/canonical-json.ts); databases hold both.
describe("the content hash of a version", () => {
  test("a field named __proto__ is part of the content: records differing only there are two versions", async () => {
    expect(rowHash(JSON.parse('{"id":1,"__proto__":"a"}'))).not.toBe(rowHash(JSON.parse('{"id":1,"__proto__":"b"}')));
    expect(rowHash(JSON.parse('{"id":1,"__proto__":{"x":1}}'))).not.toBe(rowHash({ id: 1 }));
    const body = { text: '[{"id":1,"__proto__":"a"}]' };
    const server = startServer(() => new Response(body.text, { headers: { "content-type": "application/json" } }));
    servers.push(server);
    const p = project(`${testHead(server.url)}\n${scd2Resource('primary_key = "id"\n')}`);
    expect((await p.run()).code).toBe(0);
    body.text = '[{"id":1,"__proto__":"b"}]';
    expect((await p.run()).code).toBe(0);
    // The field lands in its column too, its own value on each version.
    expect(
      await p.query('select id, "__proto__" as proto, _rl_valid_to is null as current from data.items order by _rl_valid_from'),
    ).toEqual([
      { id: 1, proto: "a", current: false },
      { id: 1, proto: "b", current: true },
    ]);
  });

  test("the hashes already stored stay as they were: keys sorted at every depth, integer-like keys first, bigints exact", () => {
    // Known records -> the hashes restload gave them before (existing scd2 tables hold these ids).
    expect(rowHash({ seq: 5, name: "a", nested: { z: 1, b: [2, { y: null, x: "é" }] } })).toBe("RGwbYfeuR_9ZiGh3WypY");
    expect(rowHash({ seq: 5, "10": "ten", "9": "nine", b: true, a: 12345678901234567890n })).toBe("XhzzUiBINxTlp0m80Suf");
    expect(rowHash({ b: 1, a: [2] })).toBe(rowHash({ a: [2], b: 1 }));
  });

  test("incremental boundary keys of records without a primary key keep the hashes stored in _rl_state", () => {
    const cursor = new IncrementalCursor(incremental({}), "events", [], undefined);
    cursor.filter([
      { seq: 5, name: "a", nested: { z: 1, b: [2, { y: null, x: "é" }] } },
      { seq: 5, "10": "ten", "9": "nine", b: true, a: 12345678901234567890n },
      JSON.parse('{"seq":5,"__proto__":{"polluted":1},"k":"v"}'),
      JSON.parse('{"seq":5,"__proto__":"text","k":"v"}'),
    ]);
    expect(cursor.snapshot()).toEqual({
      lastValue: 5,
      boundaryKeys: [
        "#1a3c81ede3ce616f96cf3fdb200c67e0",
        "#3ccdcf9f94c5994ba9214d390e36e9ef",
        "#446c1b61f7ae47ff598868775b2a5824",
        "#5e1cf35220483714e5a749bcd12b9f3c",
      ],
    });
  });
});
