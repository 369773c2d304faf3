// Hostile records load safely (or fail clearly): odd keys, colliding keys, very wide and very deep.
import { describe, expect, test } from "bun:test";
import { json, startServer, serversStoppedAfterAll } from "../servers/server.ts";
import { project } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

function load(records: unknown[], extra = "") {
  const server = startServer(() => json(records));
  servers.push(server);
  return project(
    `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\n${extra}\n`,
  );
}

async function columnNames(p: ReturnType<typeof project>, table = "items"): Promise<string[]> {
  const rows = await p.query(
    `select column_name from duckdb_columns() where schema_name = 'data' and table_name = '${table}' order by column_index`,
  );
  return rows.map((row) => String(row.column_name));
}

describe("hostile data", () => {
  test("keys with quotes, semicolons and SQL become safe columns and keep their values", async () => {
    const p = load([{ 'a"b': 1, "c'd": 2, "x; DROP TABLE items; --": 3, "select * from t": 4, "Robert'); DROP TABLE Students;--": 5 }]);
    expect((await p.run()).code).toBe(0);
    const names = await columnNames(p);
    expect(names).toEqual([
      "_rl_load_id",
      "_rl_id",
      "a_b",
      "c_d",
      "x__drop_table_items____",
      "select___from_t",
      "robert____drop_table_students___",
    ]);
    const [row] = await p.query(
      `select ${names
        .slice(2)
        .map((n) => `"${n}"`)
        .join(", ")} from data.items`,
    );
    expect(Object.values(row!)).toEqual([1, 2, 3, 4, 5]);
  });

  test("long and multi-byte values (a 6.6 MB text, emoji, accents, quotes, newlines) come back exactly", async () => {
    const long = 'é🎉"x\n'.repeat(600_000); // 3.6 million UTF-16 units, ~6.6 MB of UTF-8
    const values = [long, "", "plain", "名前 🎉 café", 'quote " inside, comma', "line\nbreak\r\nand tab\t", '""', "ünïcödé ".repeat(5_000)];
    const p = load(values.map((text, id) => ({ id, text })));
    const ran = await p.run();
    expect(ran.stdout.split("\n").filter((line) => line.includes("error"))).toEqual([]);
    expect(ran.code).toBe(0);
    const rows = await p.query("select id, text, length(text) as chars from data.items order by id");
    expect(rows.map((row) => row.text)).toEqual(values);
    expect(rows[0]!.chars).toBe([...long].length);
  });

  test("unicode and emoji keys, empty keys: distinct, stable columns, no value lost", async () => {
    const records = [{ 名前: "a", 住所: "b", "🎉": "c", "": "d", café: "e" }];
    const p = load(records);
    expect((await p.run()).code).toBe(0);
    const names = (await columnNames(p)).slice(2);
    expect(new Set(names).size).toBe(5);
    const [row] = await p.query(`select ${names.map((n) => `"${n}"`).join(", ")} from data.items`);
    expect(Object.values(row!).sort()).toEqual(["a", "b", "c", "d", "e"]);
    // The same keys map to the same columns on the next run.
    expect((await p.run()).code).toBe(0);
    expect((await columnNames(p)).slice(2)).toEqual(names);
  });

  test("keys that collide after normalisation are kept apart, the canonical one keeps the name", async () => {
    const p = load([{ userId: 1, user_id: 2, "user-id": 3, _rl_id: "data" }]);
    expect((await p.run()).code).toBe(0);
    const names = (await columnNames(p)).slice(2);
    expect(names).toContain("user_id");
    expect(names).toHaveLength(4);
    expect(names.filter((n) => n.startsWith("user_id__"))).toHaveLength(2);
    const [row] = await p.query(
      `select user_id, ${names
        .filter((n) => n.startsWith("_rl_id__"))
        .map((n) => `"${n}"`)
        .join(", ")} from data.items`,
    );
    expect(Object.values(row!)).toEqual([2, "data"]);
  });

  test("5,000 fields load into 5,000 columns, or fail clearly when the memory limit is too small", async () => {
    const record = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`field_${i}`, i]));
    const small = load([record, record]);
    const failed = await small.run();
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain("DuckDB ran out of memory while loading (duckdb_memory_limit = 128MB)");
    expect(failed.stdout).toContain("Raise pipeline.duckdb_memory_limit");
    const server = startServer(() => json([record, record]));
    servers.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\nduckdb_memory_limit = "1GB"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\n`,
    );
    expect((await p.run()).code).toBe(0);
    expect((await columnNames(p)).length).toBe(5002);
    expect(await p.query("select field_4999 from data.items limit 1")).toEqual([{ field_4999: 4999 }]);
  });

  test("nesting 200 deep loads (long names shortened with a hash) or, with max_table_nesting, as JSON", async () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 200; i++) deep = { level: deep };
    const p = load([{ id: 1, deep }]);
    expect((await p.run()).code).toBe(0);
    const names = await columnNames(p);
    expect(names.every((name) => name.length <= 63)).toBe(true);
    const leaf = names.find((name) => name.startsWith("deep__level"))!;
    expect(await p.query(`select "${leaf}" as leaf from data.items`)).toEqual([{ leaf: 1 }]);
    const capped = load([{ id: 1, deep }], "max_table_nesting = 3");
    expect((await capped.run()).code).toBe(0);
    expect(await columnNames(capped)).toEqual(["_rl_load_id", "_rl_id", "id", "deep__level__level__level"]);
  });

  test("a field flipping between number, string and object across records keeps every value", async () => {
    const p = load([{ v: 1 }, { v: "two" }, { v: { three: 3 } }, { v: [4] }, { v: true }]);
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select v, v__v_text, v__three, v__v_bool from data.items order by _rl_id")).toHaveLength(5);
    const rows = await p.query("select coalesce(v::varchar, v__v_text, v__three::varchar, v__v_bool::varchar) as v from data.items");
    expect(
      rows
        .map((row) => row.v)
        .filter((v) => v !== null)
        .sort(),
    ).toEqual(["1", "3", "true", "two"]);
    expect(await p.query("select value from data.items__v")).toEqual([{ value: 4 }]);
  });

  test("a freeze contract creates the resource's table, then rejects new columns and child tables clearly", async () => {
    const server = startServer((_, i) => json(i === 0 ? [{ id: 1 }] : i === 1 ? [{ id: 2, surprise: "x" }] : [{ id: 3, tags: ["new"] }]));
    servers.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\nschema_contract = "freeze"\n`,
    );
    expect((await p.run()).code).toBe(0);
    const column = await p.run();
    expect(column.code).toBe(1);
    expect(column.stdout).toContain(
      'Cannot add new column "surprise" to table "items" of resource "items" as its schema contract freezes columns',
    );
    const child = await p.run();
    expect(child.code).toBe(1);
    expect(child.stdout).toContain('Cannot create table "items__tags" of resource "items" as its schema contract freezes tables');
    expect(await p.query("select id from data.items")).toEqual([{ id: 1 }]);
  });

  test("discard_row drops records that would add a column; discard_value drops just the value", async () => {
    const base = (contract: string, records: unknown[]) => {
      let call = 0;
      const server = startServer(() => json(call++ === 0 ? [{ id: 1, a: "x" }] : records));
      servers.push(server);
      return project(
        `[pipeline]\nname = "test"\ndataset = "data"\n[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "items"\nschema_contract = { columns = "${contract}" }\n`,
      );
    };
    const rows = base("discard_row", [
      { id: 2, a: "y" },
      { id: 3, a: "z", b: "new" },
    ]);
    await rows.run();
    expect((await rows.run()).code).toBe(0);
    expect(await rows.query("select id from data.items order by id")).toEqual([{ id: 1 }, { id: 2 }]);
    const values = base("discard_value", [{ id: 3, a: "z", b: "new" }]);
    await values.run();
    expect((await values.run()).code).toBe(0);
    expect(await values.query("select id, a from data.items order by id")).toEqual([
      { id: 1, a: "x" },
      { id: 3, a: "z" },
    ]);
    expect(await columnNames(values)).toEqual(["_rl_load_id", "_rl_id", "id", "a"]);
  });
});
