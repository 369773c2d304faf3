// The plan's tables: each unit's root tables with their governing resource, and the rule child tables follow.
import { describe, expect, test } from "bun:test";
import { type LoadedPipeline, parsePipelineText } from "../../src/config/load.ts";
import { plan } from "../../src/plan/index.ts";
import { governingTable, governingTableInUnit, writeProblems } from "../../src/plan/tables.ts";

function planned(toml: string) {
  const file = "/tmp/pipeline.toml";
  const loaded: LoadedPipeline = { file, dir: "/tmp", ...parsePipelineText(toml, file, {}) };
  return plan(loaded, { env: {} });
}

const head = `[pipeline]\nname = "p"\ndataset = "data"\n[client]\nbase_url = "https://api.example.com/"\n`;

// items (merge on user.id) and details (append) share table "items"; labels writes `items__labels`
// itself; users is a unit of its own.
const pipeline = `${head}
[[resources]]
name = "items"
primary_key = "user.id"
merge_key = "day"
write_disposition = "merge"
[[resources]]
name = "details"
table_name = "items"
endpoint.path = "items/{resources.items.id}"
[[resources]]
name = "labels"
table_name = "items__labels"
write_disposition = "replace"
endpoint.path = "items/{resources.items.id}/labels"
[[resources]]
name = "users"
`;

describe("planned tables", () => {
  test("a shared table is governed by the unit's first resource writing it, its keys as columns", () => {
    expect(planned(pipeline).tables).toEqual([
      {
        name: "items",
        unit: "items",
        resource: "items",
        disposition: { disposition: "merge", strategy: "delete-insert" },
        primary_key: ["user__id"],
        merge_key: ["day"],
        root_ids: true,
        row_versions: false,
        retire_absent_rows: false,
      },
      {
        name: "items__labels",
        unit: "items",
        resource: "labels",
        disposition: { disposition: "replace", strategy: null },
        primary_key: [],
        merge_key: [],
        root_ids: false,
        row_versions: false,
        retire_absent_rows: false,
      },
      {
        name: "users",
        unit: "users",
        resource: "users",
        disposition: { disposition: "append", strategy: null },
        primary_key: [],
        merge_key: [],
        root_ids: false,
        row_versions: false,
        retire_absent_rows: false,
      },
    ]);
  });

  test("a child table follows the table whose name is its longest prefix, unless a resource loads it itself", () => {
    const { tables } = planned(pipeline);
    expect(governingTable(tables, "items")?.resource).toBe("items");
    expect(governingTable(tables, "items__tags")?.resource).toBe("items");
    expect(governingTable(tables, "items__labels")?.resource).toBe("labels");
    expect(governingTable(tables, "items__labels__colors")?.resource).toBe("labels");
    expect(governingTable(tables, "items_labels")).toBeUndefined();
    expect(governingTable(tables, "users__roles")?.resource).toBe("users");
    expect(governingTable(tables, "orders")).toBeUndefined();
  });

  test("a table a unit stages rows in that another unit's table governs follows the resource whose rows came first", () => {
    const p = planned(`${head}
[[resources]]
name = "a"
[[resources]]
name = "b"
table_name = "a__x"
write_disposition = "replace"
`);
    expect(governingTableInUnit(p, { unit: "a", table: "a__x", firstRowsOf: "a" }).resource).toBe("a");
    expect(governingTableInUnit(p, { unit: "b", table: "a__x", firstRowsOf: "b" }).resource).toBe("b");
    expect(governingTableInUnit(p, { unit: "a", table: "a__y", firstRowsOf: "a" }).resource).toBe("a");
  });

  test("the planned tables are frozen", () => {
    const { tables } = planned(pipeline);
    expect(Object.isFrozen(tables)).toBe(true);
    expect(Object.isFrozen(tables[0]!.primary_key)).toBe(true);
  });

  test("an scd2 table retires absent rows only after a complete extract: a root resource without cursor, page limit, ignored response or merge_key", () => {
    const scd2 = 'write_disposition = { disposition = "merge", strategy = "scd2" }';
    const retiring = (settings: string) =>
      planned(`${head}[[resources]]\nname = "items"\n${scd2}\n${settings}\n`).tables[0]!.retire_absent_rows;
    expect(retiring("")).toBe(true);
    expect(retiring('endpoint.paginator = "page_number"')).toBe(true);
    expect(retiring('endpoint.paginator = { type = "offset", limit = 10 }')).toBe(true);
    expect(retiring('endpoint.response_actions = [{ status_code = 404, action = "ignore" }]')).toBe(false);
    expect(retiring('endpoint.paginator = { type = "page_number", maximum_page = 3 }')).toBe(false);
    expect(retiring('endpoint.paginator = { type = "offset", limit = 10, maximum_offset = 100 }')).toBe(false);
    expect(retiring('endpoint.incremental = { cursor_path = "updated", initial_value = 0, start_param = "since" }')).toBe(false);
    expect(retiring('merge_key = "day"')).toBe(false);
    // A limit set in resource_defaults counts as one set on the resource.
    const defaults = planned(
      `${head}[resource_defaults]\nendpoint.paginator = { type = "page_number", maximum_page = 3 }\n[[resources]]\nname = "items"\n${scd2}\n`,
    );
    expect(defaults.tables[0]!.retire_absent_rows).toBe(false);
    // A module resource makes its own requests: the client's paginator limit is not its own.
    const module = planned(
      `${head}[client.paginator]\ntype = "page_number"\nmaximum_page = 3\n[[resources]]\nname = "items"\nmodule = "./items.ts"\nexport = "items"\n${scd2}\n`,
    );
    expect(module.tables[0]!.retire_absent_rows).toBe(true);
    expect(module.warnings).toEqual([]);
    const child = planned(
      `${head}[[resources]]\nname = "items"\n[[resources]]\nname = "details"\n${scd2}\nendpoint.path = "items/{resources.items.id}"\n`,
    );
    expect(child.tables.find((table) => table.name === "details")!.retire_absent_rows).toBe(false);
  });

  test("an upsert problem names the resource, and that the setting may come from resource_defaults", () => {
    const upsert = { disposition: "merge", strategy: "upsert" } as const;
    expect(writeProblems({ index: 2, write_disposition: upsert, primary_key: [], merge_key: ["day"] })).toEqual([
      {
        path: "resources[2].write_disposition.strategy",
        message:
          'the merge strategy "upsert" of resources[2] (from resource_defaults when not set on the resource) updates the row of each primary key: set primary_key (or use "delete-insert")',
      },
      {
        path: "resources[2].merge_key",
        message:
          'merge_key of resources[2] (from resource_defaults when not set on the resource) does not apply to the merge strategy "upsert", which updates by primary_key: remove merge_key (or use "delete-insert")',
      },
    ]);
  });
});
