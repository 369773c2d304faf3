// `columns.<field>` hints do what they say in DuckDB: nullable = false refuses records without the field, precision and scale size a decimal.
import { describe, expect, test } from "bun:test";
import { json, startServer, type TestServer, serversStoppedAfterAll } from "../servers/server.ts";
import { project, testHead } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

function serve(records: unknown[]): TestServer {
  const server = startServer(() => json(records));
  servers.push(server);
  return server;
}

async function tableExists(p: ReturnType<typeof project>, table: string): Promise<boolean> {
  const rows = await p.query(`select count(*)::int as n from duckdb_tables() where schema_name = 'data' and table_name = '${table}'`);
  return rows[0]?.n === 1;
}

describe("columns hints", () => {
  test("nullable = false fails the unit of a record whose field is null, naming the resource, the field and the way out; nothing of it lands", async () => {
    const server = serve([
      { id: 1, email: "ann@example.com" },
      { id: 2, email: null },
    ]);
    const p = project(`${testHead(server.url)}[[resources]]\nname = "users"\ncolumns.email = { nullable = false }\n`);
    const result = await p.run(["--json"]);
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({
      status: "failed",
      units: [{ unit: "users", status: "failed", error: { code: "E_DATA", context: { resource: "users" } } }],
    });
    const error = summary.units[0].error;
    expect(error.message).toContain('resource "users"');
    expect(error.message).toContain('field "email" is null');
    expect(error.message).toContain("columns.email says nullable = false");
    expect(error.hint).toContain('filter = { field = "email", op = "exists" }');
    expect(await tableExists(p, "users")).toBe(false);
    expect(await p.query("select status, error_data->>'$.code' as code from data._rl_loads")).toEqual([
      { status: "failed", code: "E_DATA" },
    ]);
  });

  test("nullable = false on a nested field fails a record that lacks it as missing, with the column it names", async () => {
    const server = serve([{ id: 1, profile: { name: "ann" } }, { id: 2 }]);
    const p = project(`${testHead(server.url)}[[resources]]\nname = "users"\ncolumns."profile.name" = { nullable = false }\n`);
    const result = await p.run(["--json"]);
    expect(result.code).toBe(1);
    const error = JSON.parse(result.stdout).units[0].error;
    expect(error.code).toBe("E_DATA");
    expect(error.message).toContain('field "profile.name" is missing');
    expect(error.message).toContain('column "profile__name" of table "users"');
    expect(await tableExists(p, "users")).toBe(false);
  });

  test("nullable = false loads records that hold the field; the default (nullable = true) loads a null", async () => {
    const server = serve([
      { id: 1, email: "ann@example.com", phone: null },
      { id: 2, email: "bob@example.com", phone: "555" },
      { id: 3, email: "eve@example.com" },
    ]);
    const p = project(
      `${testHead(server.url)}[[resources]]\nname = "users"\ncolumns.email = { nullable = false }\ncolumns.phone = { data_type = "text" }\n`,
    );
    const result = await p.run();
    expect(result.stderr).not.toContain("error");
    expect(result.code).toBe(0);
    expect(await p.query("select id, email, phone from data.users order by id")).toEqual([
      { id: 1, email: "ann@example.com", phone: null },
      { id: 2, email: "bob@example.com", phone: "555" },
      { id: 3, email: "eve@example.com", phone: null },
    ]);
  });

  test("nullable = false on a hint named by its column name (user_name) checks the API's userName", async () => {
    const server = serve([
      { id: 1, userName: "ann" },
      { id: 2, userName: "bob" },
    ]);
    const p = project(
      `${testHead(server.url)}[[resources]]\nname = "users"\ncolumns.user_name = { data_type = "text", nullable = false }\n`,
    );
    expect((await p.run()).code).toBe(0);
    expect(await p.query("select id, user_name from data.users order by id")).toEqual([
      { id: 1, user_name: "ann" },
      { id: 2, user_name: "bob" },
    ]);
  });

  test("precision and scale size a decimal column and its values keep their digits", async () => {
    const server = serve([
      { id: 1, amount: "12345678.91" },
      { id: 2, amount: 0.5 },
    ]);
    const p = project(
      `${testHead(server.url)}[[resources]]\nname = "orders"\ncolumns.amount = { data_type = "decimal", precision = 10, scale = 2 }\n`,
    );
    const result = await p.run();
    expect(result.stderr).not.toContain("error");
    expect(result.code).toBe(0);
    expect(
      await p.query(
        "select data_type from duckdb_columns() where schema_name = 'data' and table_name = 'orders' and column_name = 'amount'",
      ),
    ).toEqual([{ data_type: "DECIMAL(10,2)" }]);
    expect(await p.query("select id, amount::varchar as amount from data.orders order by id")).toEqual([
      { id: 1, amount: "12345678.91" },
      { id: 2, amount: "0.50" },
    ]);
  });

  test("a decimal with a precision below the default scale and no scale gets a scale that fits: DECIMAL(5,5)", async () => {
    const server = serve([{ id: 1, share: 0.25 }]);
    const p = project(`${testHead(server.url)}[[resources]]\nname = "shares"\ncolumns.share = { data_type = "decimal", precision = 5 }\n`);
    expect((await p.run()).code).toBe(0);
    expect(
      await p.query(
        "select data_type from duckdb_columns() where schema_name = 'data' and table_name = 'shares' and column_name = 'share'",
      ),
    ).toEqual([{ data_type: "DECIMAL(5,5)" }]);
    expect(await p.query("select share::varchar as share from data.shares")).toEqual([{ share: ".25000" }]);
  });
});
