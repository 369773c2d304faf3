// What lands in DuckDB, exactly: tables, columns, types and rows for a hand-written fixture API.
import { describe, expect, test } from "bun:test";
import { json, startServer, type TestServer, serversStoppedAfterAll } from "../servers/server.ts";
import { project } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

function serve(pages: unknown[][]): TestServer {
  const server = startServer((request) => {
    const page = Number(request.url.searchParams.get("page") ?? 0);
    const next = page + 1 < pages.length ? { link: `<${request.url.origin}${request.url.pathname}?page=${page + 1}>; rel="next"` } : {};
    return json(pages[page] ?? [], { headers: next });
  });
  servers.push(server);
  return server;
}

const head = (url: string, extra = "") => `[pipeline]\nname = "test"\ndataset = "data"\n${extra}\n[client]\nbase_url = "${url}"\n`;

async function columns(p: ReturnType<typeof project>, table: string) {
  const rows = await p.query(
    `select column_name, data_type from duckdb_columns() where schema_name = 'data' and table_name = '${table}' order by column_index`,
  );
  return Object.fromEntries(rows.map((row) => [row.column_name, row.data_type]));
}

describe("contents of the tables", () => {
  test("flattening, child tables with parent links and list order, scalar lists, types", async () => {
    const server = serve([
      [
        {
          id: 1,
          title: "First",
          score: 1.5,
          open: true,
          created_at: "2024-01-25T11:21:28Z",
          user: { login: "ann", address: { city: "Oslo" } },
          labels: [
            { name: "bug", color: "red" },
            { name: "ui", color: "blue" },
          ],
          tags: ["a", "b", "c"],
        },
        {
          id: 2,
          title: "Second",
          score: 2,
          open: false,
          created_at: "2024-01-26T00:00:00.123456+02:00",
          user: { login: "bob", address: null },
          labels: [],
          tags: ["z"],
        },
      ],
    ]);
    const p = project(`${head(server.url)}\n[[resources]]\nname = "items"\n`);
    const result = await p.run();
    expect(result.stderr).not.toContain("error");
    expect(result.code).toBe(0);

    expect(await columns(p, "items")).toEqual({
      _rl_load_id: "VARCHAR",
      _rl_id: "VARCHAR",
      id: "BIGINT",
      title: "VARCHAR",
      score: "DOUBLE",
      open: "BOOLEAN",
      created_at: "TIMESTAMP WITH TIME ZONE",
      user__login: "VARCHAR",
      user__address__city: "VARCHAR",
    });
    expect(await columns(p, "items__labels")).toEqual({
      _rl_parent_id: "VARCHAR",
      _rl_list_idx: "BIGINT",
      _rl_id: "VARCHAR",
      name: "VARCHAR",
      color: "VARCHAR",
    });
    expect(await columns(p, "items__tags")).toEqual({
      _rl_parent_id: "VARCHAR",
      _rl_list_idx: "BIGINT",
      _rl_id: "VARCHAR",
      value: "VARCHAR",
    });

    expect(
      await p.query(
        "select id, title, score, open, created_at::varchar as created_at, user__login, user__address__city from data.items order by id",
      ),
    ).toEqual([
      {
        id: 1,
        title: "First",
        score: 1.5,
        open: true,
        created_at: "2024-01-25 11:21:28+00",
        user__login: "ann",
        user__address__city: "Oslo",
      },
      {
        id: 2,
        title: "Second",
        score: 2,
        open: false,
        created_at: "2024-01-25 22:00:00.123456+00",
        user__login: "bob",
        user__address__city: null,
      },
    ]);
    expect(
      await p.query(
        "select i.id, l._rl_list_idx as idx, l.name, l.color from data.items i join data.items__labels l on l._rl_parent_id = i._rl_id order by i.id, idx",
      ),
    ).toEqual([
      { id: 1, idx: 0, name: "bug", color: "red" },
      { id: 1, idx: 1, name: "ui", color: "blue" },
    ]);
    expect(
      await p.query(
        "select i.id, t._rl_list_idx as idx, t.value from data.items i join data.items__tags t on t._rl_parent_id = i._rl_id order by i.id, idx",
      ),
    ).toEqual([
      { id: 1, idx: 0, value: "a" },
      { id: 1, idx: 1, value: "b" },
      { id: 1, idx: 2, value: "c" },
      { id: 2, idx: 0, value: "z" },
    ]);
    const [load] = await p.query("select count(distinct _rl_load_id) as loads, count(distinct _rl_id) as ids from data.items");
    expect(load).toEqual({ loads: 1, ids: 2 });
  });

  test("a value that does not fit its column goes to a variant column; nothing is dropped", async () => {
    const server = serve([[{ id: 1, size: 10 }], [{ id: 2, size: "large" }], [{ id: 3, size: { w: 2, h: 3 } }], [{ id: 4, size: 2.5 }]]);
    const p = project(`${head(server.url)}\n[[resources]]\nname = "items"\n`);
    expect((await p.run()).code).toBe(0);
    expect(await columns(p, "items")).toMatchObject({
      id: "BIGINT",
      size: "BIGINT",
      size__v_text: "VARCHAR",
      size__w: "BIGINT",
      size__h: "BIGINT",
      size__v_double: "DOUBLE",
    });
    expect(await p.query("select id, size, size__v_text, size__w, size__h, size__v_double from data.items order by id")).toEqual([
      { id: 1, size: 10, size__v_text: null, size__w: null, size__h: null, size__v_double: null },
      { id: 2, size: null, size__v_text: "large", size__w: null, size__h: null, size__v_double: null },
      { id: 3, size: null, size__v_text: null, size__w: 2, size__h: 3, size__v_double: null },
      { id: 4, size: null, size__v_text: null, size__w: null, size__h: null, size__v_double: 2.5 },
    ]);
  });

  test("past max_table_nesting the rest is stored as JSON", async () => {
    const server = serve([[{ id: 1, user: { login: "ann", address: { city: "Oslo" } }, labels: [{ name: "bug" }] }]]);
    const p = project(`${head(server.url)}\n[[resources]]\nname = "items"\nmax_table_nesting = 1\n`);
    expect((await p.run()).code).toBe(0);
    expect(await columns(p, "items")).toMatchObject({ user__login: "VARCHAR", user__address: "JSON" });
    expect(await p.query("select user__address::varchar as a from data.items")).toEqual([{ a: '{"city":"Oslo"}' }]);
    const zero = project(`${head(server.url)}\n[[resources]]\nname = "items"\nmax_table_nesting = 0\n`);
    expect((await zero.run()).code).toBe(0);
    expect(await columns(zero, "items")).toMatchObject({ user: "JSON", labels: "JSON" });
    expect(await zero.query("select count(*) as n from duckdb_tables() where schema_name = 'data' and table_name like 'items__%'")).toEqual(
      [{ n: 0 }],
    );
  });

  test("columns hints set types; data_type json keeps a nested value whole", async () => {
    const server = serve([[{ id: "7", amount: 12, meta: { a: 1 }, day: "2024-01-02", price: "10.25" }]]);
    const p = project(
      `${head(server.url)}\n[[resources]]\nname = "items"\ncolumns.id = { data_type = "text" }\ncolumns.meta = { data_type = "json" }\ncolumns.day = { data_type = "date" }\ncolumns.price = { data_type = "decimal", precision = 10, scale = 2 }\ncolumns.amount = { data_type = "double" }\n`,
    );
    expect((await p.run()).code).toBe(0);
    expect(await columns(p, "items")).toMatchObject({ id: "VARCHAR", amount: "DOUBLE", meta: "JSON", day: "DATE", price: "DECIMAL(10,2)" });
    expect(await p.query("select id, amount, meta::varchar as meta, day::varchar as day, price::varchar as price from data.items")).toEqual(
      [{ id: "7", amount: 12, meta: '{"a":1}', day: "2024-01-02", price: "10.25" }],
    );
  });

  test("IDs above 2^53 land exactly as BIGINT, beyond 2^63 as HUGEINT", async () => {
    const server = startServer(
      () =>
        new Response('[{"id": 9007199254740993}, {"id": 9223372036854775807}, {"id": 9007199254740992}]', {
          headers: { "content-type": "application/json" },
        }),
    );
    servers.push(server);
    const p = project(`${head(server.url)}\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\n`);
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id::varchar as id from data.items order by id")).toEqual([
      { id: "9007199254740992" },
      { id: "9007199254740993" },
      { id: "9223372036854775807" },
    ]);
    const huge = startServer(
      () => new Response('[{"n": 170141183460469231731687303715884105727}]', { headers: { "content-type": "application/json" } }),
    );
    servers.push(huge);
    const q = project(`${head(huge.url)}\n[[resources]]\nname = "items"\n`);
    expect((await q.run()).code).toBe(0);
    expect(await columns(q, "items")).toMatchObject({ n: "HUGEINT" });
    expect(await q.query("select n::varchar as n from data.items")).toEqual([{ n: "170141183460469231731687303715884105727" }]);
  });

  test("system_prefix renames the system columns only", async () => {
    const server = serve([[{ id: 1, tags: ["x"] }]]);
    const p = project(`${head(server.url, 'system_prefix = "_dlt_"')}\n[[resources]]\nname = "items"\n`);
    expect((await p.run()).code).toBe(0);
    expect(Object.keys(await columns(p, "items"))).toEqual(["_dlt_load_id", "_dlt_id", "id"]);
    expect(Object.keys(await columns(p, "items__tags"))).toEqual(["_dlt_parent_id", "_dlt_list_idx", "_dlt_id", "value"]);
    expect(await p.query("select count(*) as n from data._rl_loads")).toEqual([{ n: 1 }]);
  });
});
