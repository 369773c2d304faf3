// Schema changes are events: a new table, a new column or a variant column is a schema_changed
// event, a line of the run's summary (units[].schema_changes with --json), and an element of
// `_rl_loads.schema_changes` on the row of the checkpoint that committed it; a rolled-back change
// is none of these. Real runs against local servers and real DuckDB files.
import { describe, expect, test } from "bun:test";
import { json, startServer, serversStoppedAfterAll } from "../servers/server.ts";
import { checkpointHead, linkedPage, mutableApi, type Project, project, testHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

const jsonEvents = (stderr: string): Record<string, unknown>[] =>
  stderr
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));

const schemaEvents = (stderr: string) =>
  jsonEvents(stderr)
    .filter((event) => event.event === "schema_changed")
    .map(({ time: _, run_id: __, load_id: ___, ...rest }) => rest);

/** `_rl_loads.schema_changes` of every row, oldest first. */
async function storedChanges(p: Project): Promise<{ status: string; load_id: string; changes: unknown }[]> {
  const rows = await p.query("select status, load_id, schema_changes::varchar as changes from data._rl_loads order by load_id");
  return rows.map((row) => ({
    status: String(row.status),
    load_id: String(row.load_id),
    changes: row.changes === null ? null : JSON.parse(String(row.changes)),
  }));
}

describe("schema changes", () => {
  test("a field turning from number to text is a variant_column change, a new field a new_column change: event, summary line and _rl_loads", async () => {
    const api = mutableApi(servers, [{ id: 1, score: 5 }]);
    const p = project(`${testHead(api.server.url)}[[resources]]\nname = "items"\n`);

    const first = await p.run(["--log-format", "json"]);
    expect(first.code).toBe(0);
    // The first run creates the table: one change for the table, not one per column.
    expect(schemaEvents(first.stderr)).toEqual([
      { level: "info", event: "schema_changed", unit: "items", table: "items", column: null, change: "new_table", data_type: null },
    ]);
    expect(first.stdout).toContain("  schema: new table items\n");

    api.state.records = [{ id: 2, score: "five", shipped: true }];
    const second = await p.run(["--log-format", "json"]);
    expect(second.code).toBe(0);
    expect(schemaEvents(second.stderr)).toEqual([
      {
        level: "info",
        event: "schema_changed",
        unit: "items",
        table: "items",
        column: "score__v_text",
        change: "variant_column",
        data_type: "VARCHAR",
      },
      {
        level: "info",
        event: "schema_changed",
        unit: "items",
        table: "items",
        column: "shipped",
        change: "new_column",
        data_type: "BOOLEAN",
      },
    ]);
    expect(second.stdout).toContain("unit items: committed, 1 row");
    expect(second.stdout).toContain("  schema: variant column items.score__v_text VARCHAR; new column items.shipped BOOLEAN\n");
    const changed = jsonEvents(second.stderr).find((event) => event.event === "schema_changed")!;
    const unitStarted = jsonEvents(second.stderr).find((event) => event.event === "unit_started")!;
    expect(changed.load_id).toBe(unitStarted.load_id);

    const stored = await storedChanges(p);
    expect(stored.map((row) => row.changes)).toEqual([
      [{ table: "items", column: null, change: "new_table", data_type: null }],
      [
        { table: "items", column: "score__v_text", change: "variant_column", data_type: "VARCHAR" },
        { table: "items", column: "shipped", change: "new_column", data_type: "BOOLEAN" },
      ],
    ]);
    expect(await p.query("select id, score, score__v_text, shipped from data.items order by id")).toEqual([
      { id: 1, score: 5, score__v_text: null, shipped: null },
      { id: 2, score: null, score__v_text: "five", shipped: true },
    ]);

    // Nothing new: no event, no summary line, an empty array.
    const third = await p.run(["--json", "--log-format", "json"]);
    expect(third.code).toBe(0);
    expect(schemaEvents(third.stderr)).toEqual([]);
    expect(JSON.parse(third.stdout).units[0].schema_changes).toEqual([]);
    expect((await storedChanges(p)).at(-1)!.changes).toEqual([]);
  });

  test("the text log has one line per change and the --json summary lists them per unit, child tables included", async () => {
    const api = mutableApi(servers, [{ id: 1 }]);
    const p = project(`${testHead(api.server.url)}[[resources]]\nname = "items"\n`);
    expect((await p.run()).code).toBe(0);
    api.state.records = [{ id: 2, tags: ["a", "b"], size: 1.5 }];
    const text = await p.run();
    expect(text.code).toBe(0);
    expect(text.stderr).toContain("unit items: schema: new table items__tags\n");
    expect(text.stderr).toContain("unit items: schema: new column items.size DOUBLE\n");
    expect(text.stdout).toContain("  schema: new table items__tags; new column items.size DOUBLE\n");
    // A first run that creates several tables names them on one line.
    const fresh = project(`${testHead(api.server.url)}[[resources]]\nname = "items"\n`, "fresh");
    const created = await fresh.run();
    expect(created.code).toBe(0);
    expect(created.stdout).toContain("  schema: new tables items, items__tags\n");

    api.state.records = [{ id: 3, tags: [7], owner: { login: "ann" } }];
    const summary = await p.run(["--json"]);
    expect(summary.code).toBe(0);
    expect(JSON.parse(summary.stdout).units[0].schema_changes).toEqual([
      { table: "items", column: "owner__login", change: "new_column", data_type: "VARCHAR" },
      { table: "items__tags", column: "value__v_bigint", change: "variant_column", data_type: "BIGINT" },
    ]);
  });

  test("a change is stored on the _rl_loads row of the checkpoint that committed it", async () => {
    // Ordered events, five a page; from seq 16 on the records carry a new field.
    const source = Array.from({ length: 30 }, (_, i) => ({ seq: i + 1, ...(i + 1 >= 16 ? { region: "eu" } : {}) }));
    const server = startServer(async (request) => {
      await Bun.sleep(30);
      const since = Number(request.url.searchParams.get("since") ?? 0);
      return linkedPage(
        request,
        source.filter((row) => row.seq >= since),
        5,
      );
    });
    servers.push(server);
    const p = project(
      `${checkpointHead(server.url)}[[resources]]\nname = "events"\nwrite_disposition = "append"\nendpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "seq", initial_value = 0, start_param = "since", row_order = "asc" }\n`,
    );
    const ran = await p.run(["--log-format", "json"]);
    expect(ran.code).toBe(0);
    const stored = await storedChanges(p);
    expect(stored.length).toBeGreaterThan(2);
    const [first] = stored;
    expect(first!.changes).toEqual([{ table: "events", column: null, change: "new_table", data_type: null }]);
    const [withRegion] = await p.query("select _rl_load_id as load_id from data.events where region is not null order by seq limit 1");
    const added = stored.filter((row) => JSON.stringify(row.changes).includes("region"));
    expect(added).toEqual([
      {
        status: "committed",
        load_id: String(withRegion!.load_id),
        changes: [{ table: "events", column: "region", change: "new_column", data_type: "VARCHAR" }],
      },
    ]);
    for (const row of stored) if (row !== first && row !== added[0]) expect(row.changes).toEqual([]);
    const event = jsonEvents(ran.stderr).find((candidate) => candidate.event === "schema_changed" && candidate.column === "region");
    expect(event).toMatchObject({ load_id: String(withRegion!.load_id), change: "new_column" });
  });

  test("a unit that fails rolls its changes back: no event, no summary line, an empty array on its failed row", async () => {
    let failing = false;
    const rows = [
      { id: 1, label: "a" },
      { id: 2, label: "b" },
    ];
    const server = startServer((request) =>
      failing && request.url.searchParams.get("page") === "1" ? json({ message: "gone" }, { status: 410 }) : linkedPage(request, rows, 1),
    );
    servers.push(server);
    const p = project(`${testHead(server.url)}paginator = "header_link"\n[[resources]]\nname = "items"\n`);
    expect((await p.run()).code).toBe(0);
    rows[0] = { id: 1, label: "a", colour: "red" } as (typeof rows)[number];
    failing = true;
    const failed = await p.run(["--log-format", "json", "--json"]);
    expect(failed.code).toBe(1);
    expect(schemaEvents(failed.stderr)).toEqual([]);
    expect(JSON.parse(failed.stdout).units[0]).toMatchObject({ status: "failed", schema_changes: [] });
    expect((await storedChanges(p)).at(-1)).toMatchObject({ status: "failed", changes: [] });
    expect(
      await p.query(
        "select column_name from duckdb_columns() where schema_name = 'data' and table_name = 'items' and column_name = 'colour'",
      ),
    ).toEqual([]);
  });
});
