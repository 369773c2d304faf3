// append, replace and merge (delete-insert, upsert, merge_key) across runs, child rows included.
import { afterAll, describe, expect, test } from "bun:test";
import type { TestServer } from "../servers/server.ts";
import { mutableApi, project, testHead } from "./_helpers.ts";

const servers: TestServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
});

const mutable = (initial: unknown[]) => mutableApi(servers, initial);

const issues = (n: number, label = "bug") => Array.from({ length: n }, (_, i) => ({ id: i + 1, title: `t${i + 1}`, labels: [{ name: label }, { name: `${label}-2` }] }));

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
    expect(await p.query("select i.id, l.name from data.items i join data.items__labels l on l._rl_parent_id = i._rl_id order by i.id, l._rl_list_idx")).toEqual([
      { id: 1, name: "bug" },
      { id: 1, name: "bug-2" },
      { id: 2, name: "feature" },
      { id: 3, name: "bug" },
      { id: 3, name: "bug-2" },
    ]);
    expect(await p.query("select count(*) as n from data.items__labels where _rl_root_id not in (select _rl_id from data.items)")).toEqual([{ n: 0 }]);
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

  test("upsert strategy keeps one row per key across runs", async () => {
    const { server, state } = mutable(issues(2));
    const p = project(`${testHead(server.url)}\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = { disposition = "merge", strategy = "upsert" }\n`);
    await p.run();
    state.records = [{ id: 2, title: "upserted", labels: [] }, { id: 3, title: "new", labels: [] }];
    await p.run();
    expect(await p.query("select id, title from data.items order by id")).toEqual([
      { id: 1, title: "t1" },
      { id: 2, title: "upserted" },
      { id: 3, title: "new" },
    ]);
    expect(await p.query("select count(*) as n from data.items__labels")).toEqual([{ n: 2 }]);
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
});
