// append, replace and merge (delete-insert, merge_key) across runs, child rows included; upsert and
// scd2 have files of their own.
import { describe, expect, test } from "bun:test";
import { runMain } from "../helpers.ts";
import { serversStoppedAfterAll } from "../servers/server.ts";
import { mutableApi, project, testHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

const mutable = (initial: unknown[]) => mutableApi(servers, initial);

const issues = (n: number, label = "bug") =>
  Array.from({ length: n }, (_, i) => ({ id: i + 1, title: `t${i + 1}`, labels: [{ name: label }, { name: `${label}-2` }] }));

describe("write dispositions", () => {
  test("append adds every run's rows", async () => {
    const { server } = mutable(issues(3));
    const p = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\n`);
    await p.run();
    await p.run();
    expect(await p.query("select count(*) as n from data.items")).toEqual([{ n: 6 }]);
    expect(await p.query("select count(*) as n from data.items__labels")).toEqual([{ n: 12 }]);
  });

  test("merge run twice loads no duplicates, for rows and child rows", async () => {
    const { server } = mutable(issues(5));
    const p = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\n`);
    expect((await p.run()).code).toBe(0);
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select count(*) as n, count(distinct id) as ids from data.items")).toEqual([{ n: 5, ids: 5 }]);
    expect(await p.query("select count(*) as n from data.items__labels")).toEqual([{ n: 10 }]);
  });

  test("merge: a changed record replaces its row and its child rows; untouched rows stay", async () => {
    const { server, state } = mutable(issues(3));
    const p = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\n`);
    await p.run();
    const [before] = await p.query("select _rl_id from data.items where id = 1");
    state.records = [{ id: 2, title: "changed", labels: [{ name: "feature" }] }];
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id, title from data.items order by id")).toEqual([
      { id: 1, title: "t1" },
      { id: 2, title: "changed" },
      { id: 3, title: "t3" },
    ]);
    expect(
      await p.query(
        "select i.id, l.name from data.items i join data.items__labels l on l._rl_parent_id = i._rl_id order by i.id, l._rl_list_idx",
      ),
    ).toEqual([
      { id: 1, name: "bug" },
      { id: 1, name: "bug-2" },
      { id: 2, name: "feature" },
      { id: 3, name: "bug" },
      { id: 3, name: "bug-2" },
    ]);
    expect(await p.query("select count(*) as n from data.items__labels where _rl_root_id not in (select _rl_id from data.items)")).toEqual([
      { n: 0 },
    ]);
    expect(await p.query("select _rl_id from data.items where id = 1")).toEqual([before!]);
  });

  test("merge: the last record of a key inside one load wins", async () => {
    const { server } = mutable([
      { id: 1, v: "old", tags: ["x"] },
      { id: 1, v: "new", tags: ["y", "z"] },
    ]);
    const p = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\n`);
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id, v from data.items")).toEqual([{ id: 1, v: "new" }]);
    expect(await p.query("select value from data.items__tags order by _rl_list_idx")).toEqual([{ value: "y" }, { value: "z" }]);
  });

  test("check warns that merge without a key appends, and says nothing of upsert or scd2, which need no such warning", async () => {
    const strategies = [
      '"merge"',
      '{ disposition = "merge", strategy = "upsert" }\nprimary_key = "id"',
      '{ disposition = "merge", strategy = "scd2" }',
    ];
    const warnings = [];
    for (const disposition of strategies) {
      const p = project(`${testHead("https://api.example.com/")}\n[[resources]]\nname = "items"\nwrite_disposition = ${disposition}\n`);
      warnings.push(JSON.parse((await runMain(["check", p.pipeline, "--json"])).stdout).warnings);
    }
    expect(warnings).toEqual([
      ['resource "items": write_disposition = "merge" without primary_key or merge_key behaves as append'],
      [],
      [],
    ]);
  });

  test("merge_key replaces every row of the keys seen (a day's partition)", async () => {
    const { server, state } = mutable([
      { day: "d1", n: 1 },
      { day: "d1", n: 2 },
      { day: "d2", n: 3 },
    ]);
    const p = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\nmerge_key = "day"\nwrite_disposition = "merge"\n`);
    await p.run();
    state.records = [{ day: "d1", n: 9 }];
    await p.run();
    expect(await p.query("select day, n from data.items order by n")).toEqual([
      { day: "d2", n: 3 },
      { day: "d1", n: 9 },
    ]);
  });

  test("replace leaves exactly the last run's rows, child tables included", async () => {
    const { server, state } = mutable(issues(4));
    const p = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\nwrite_disposition = "replace"\n`);
    await p.run();
    state.records = [{ id: 9, title: "only", labels: [{ name: "solo" }] }];
    await p.run();
    expect(await p.query("select id, title from data.items")).toEqual([{ id: 9, title: "only" }]);
    expect(await p.query("select name from data.items__labels")).toEqual([{ name: "solo" }]);
  });

  test("merge with a missing primary key value fails the unit and leaves the table as it was", async () => {
    const { server, state } = mutable(issues(2));
    const p = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\n`);
    await p.run();
    state.records = [{ id: 1, title: "x" }, { title: "no id" }];
    const result = await p.run();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`1 record for its table "items" has no value for id`);
    expect(await p.query("select id, title from data.items order by id")).toEqual([
      { id: 1, title: "t1" },
      { id: 2, title: "t2" },
    ]);
  });

  const mergeOn = (url: string, extra = "") =>
    project(`${testHead(url)}\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\n${extra}`);

  test("merge: one key in several spellings (an instant with other offsets, a decimal as text and number) keeps one row, the last", async () => {
    const instants = mutable([
      { id: "2024-01-01T00:00:00Z", v: "a" },
      { id: "2024-01-01T01:00:00+01:00", v: "b" },
      { id: "2023-12-31t19:00:00.000-05:00", v: "c" },
    ]);
    const p = mergeOn(instants.server.url);
    for (let run = 0; run < 2; run++) {
      expect((await p.run()).code).toBe(0);
      expect(await p.query("select epoch(id) as seconds, v from data.items")).toEqual([{ seconds: 1704067200, v: "c" }]);
    }
    const decimals = mutable([
      { id: "1.50", v: "a" },
      { id: 1.5, v: "b" },
      { id: "1.5", v: "c" },
      { id: "2", v: "d" },
    ]);
    const q = mergeOn(decimals.server.url, 'columns.id = { data_type = "decimal", precision = 10, scale = 2 }\n');
    expect((await q.run()).code).toBe(0);
    expect(await q.query("select id::varchar as id, v from data.items order by id")).toEqual([
      { id: "1.50", v: "c" },
      { id: "2.00", v: "d" },
    ]);
  });

  test("a key value of another type than its column fails the merge saying so, and leaves the table as it was", async () => {
    const { server, state } = mutable([{ id: 1, v: "a" }]);
    const p = mergeOn(server.url);
    expect((await p.run()).code).toBe(0);
    state.records = [
      { id: 2, v: "b" },
      { id: "x2", v: "c" },
    ];
    const result = await p.run();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`1 record for its table "items" has a value for id of another type than the key column`);
    expect(await p.query("select id, v from data.items")).toEqual([{ id: 1, v: "a" }]);
  });

  test("a key field whose column another field of the record takes (userId, user_id) fails clearly instead of merging on the other field", async () => {
    const { server, state } = mutable([
      { userId: 1, name: "a" },
      { userId: 2, name: "b" },
    ]);
    const p = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\nprimary_key = "userId"\nwrite_disposition = "merge"\n`);
    expect((await p.run()).code).toBe(0);
    state.records = [
      { userId: 1, user_id: "x", name: "c" },
      { userId: 2, user_id: "x", name: "d" },
    ];
    const result = await p.run();
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `Cannot merge resource "items" on "userId": the fields "userId" and "user_id" of its records all become column "user_id", which "user_id" keeps`,
    );
    expect(result.stdout).toContain("rename");
    expect(await p.query("select user_id, name from data.items order by user_id")).toEqual([
      { user_id: 1, name: "a" },
      { user_id: 2, name: "b" },
    ]);
  });

  test("an integer beyond 2^53 in a column hinted as text is stored as its exact digits (append and merge)", async () => {
    const big = 2n ** 53n + 1n;
    const server = (await import("../servers/server.ts")).startServer(
      () => new Response(`[{"id": 1, "n": ${big}, "m": ${big}}]`, { headers: { "content-type": "application/json" } }),
    );
    servers.push(server);
    for (const disposition of ["append", "merge"]) {
      const p = project(
        `${testHead(server.url)}\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "${disposition}"\ncolumns.n = { data_type = "text" }\n`,
      );
      const result = await p.run();
      expect(result.stdout).not.toContain("error");
      expect(await p.query("select n, typeof(n) as type, m::varchar as m from data.items")).toEqual([
        { n: String(big), type: "VARCHAR", m: String(big) },
      ]);
    }
  });
});
