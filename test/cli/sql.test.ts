import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { restload, tempDir } from "../helpers.ts";

describe("restload sql", () => {
  test("creates a missing file in an existing directory, fills it and queries it", async () => {
    const db = join(tempDir(), "new.duckdb");
    const created = await restload(["sql", db, "create table t(id bigint, name varchar); insert into t values (1, 'a'), (2, 'b')"]);
    expect(created.code).toBe(0);
    expect(created.stderr).toContain(`database: ${db}`);
    expect(existsSync(db)).toBe(true);

    const queried = await restload(["sql", db, "select id, name from t order by id"]);
    expect(queried.code).toBe(0);
    expect(queried.stdout).toBe([" id │ name", "────┼──────", "  1 │ a", "  2 │ b", "(2 rows)", ""].join("\n"));
  });

  test("a value starting with U+FEFF comes back whole, in every format", async () => {
    const sql = "select chr(65279) || 'b' as s";
    expect(JSON.parse((await restload(["sql", ":memory:", sql, "--json"])).stdout)).toEqual([{ s: "\uFEFFb" }]);
    expect((await restload(["sql", ":memory:", sql, "--csv"])).stdout).toBe("s\n\uFEFFb\n");
    expect((await restload(["sql", ":memory:", sql])).stdout).toContain(" \uFEFFb");
  });

  test("runs every statement and prints only the last result", async () => {
    const db = join(tempDir(), "multi.duckdb");
    const result = await restload(["sql", db, "create table t as select 7 as x; update t set x = x + 1; select x from t"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe([" x", "───", " 8", "(1 row)", ""].join("\n"));
  });

  test("--json keeps 64-bit integers and decimals exact and NULL as null", async () => {
    const db = join(tempDir(), "json.duckdb");
    const result = await restload([
      "sql",
      db,
      "select 9223372036854775807::bigint as big, 9007199254740993::bigint as odd, 170141183460469231731687303715884105727::hugeint as huge, 12.34::decimal(10,2) as price, null::varchar as missing, [1, 2] as list, 'x\"y' as quoted",
      "--json",
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"big": 9223372036854775807');
    expect(result.stdout).toContain('"odd": 9007199254740993');
    expect(result.stdout).toContain('"huge": 170141183460469231731687303715884105727');
    expect(result.stdout).toContain('"price": 12.34');
    const parsed = JSON.parse(result.stdout);
    expect(parsed).toHaveLength(1);
    expect(parsed[0].missing).toBeNull();
    expect(parsed[0].list).toEqual([1, 2]);
    expect(parsed[0].quoted).toBe('x"y');
  });

  test("--csv quotes only the fields that need it and leaves NULL empty", async () => {
    const db = join(tempDir(), "csv.duckdb");
    const result = await restload(["sql", db, "select 1 as a, 'x,y' as b, 'say \"hi\"' as c, null as d, 'two\nlines' as e", "--csv"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('a,b,c,d,e\n1,"x,y","say ""hi""",,"two\nlines"\n');
  });

  test("the text table escapes newlines so a row stays one line", async () => {
    const db = join(tempDir(), "esc.duckdb");
    const result = await restload(["sql", db, "select 'a\nb' as v"]);
    expect(result.stdout.split("\n")[2]).toBe(" a\\nb");
  });

  test("a statement with no result set prints nothing", async () => {
    const db = join(tempDir(), "ddl.duckdb");
    const result = await restload(["sql", db, "create table t(a int)"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("");
  });

  test("without a SQL argument the SQL is read from standard input", async () => {
    const db = join(tempDir(), "stdin.duckdb");
    const result = await restload(["sql", db, "--csv"], { stdin: "select 40 + 2 as answer;\n" });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("answer\n42\n");
  });

  test("bad SQL exits 1 with DuckDB's message", async () => {
    const db = join(tempDir(), "bad-sql.duckdb");
    const result = await restload(["sql", db, "selec 1"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error[E_SQL]");
    expect(result.stderr).toContain('syntax error at or near "selec"');
  });

  test("a failing statement in a script exits 1 and names DuckDB's error", async () => {
    const db = join(tempDir(), "bad-table.duckdb");
    const result = await restload(["sql", db, "select 1; select * from no_such_table"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("no_such_table");
  });

  test("a file that is not a DuckDB database exits 1 and is left byte for byte unchanged", async () => {
    const dir = tempDir();
    const file = join(dir, "notes.duckdb");
    const content = "these are my notes, not a database\n".repeat(200);
    writeFileSync(file, content);
    const result = await restload(["sql", file, "create table t(a int)"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error[E_DB_INVALID]");
    expect(result.stderr).toContain("not a DuckDB database file");
    expect(readFileSync(file, "utf8")).toBe(content);
    expect(existsSync(`${file}.wal`)).toBe(false);
  });

  test("a database in a directory that does not exist exits 1 and creates nothing", async () => {
    const dir = tempDir();
    const result = await restload(["sql", join(dir, "missing", "x.duckdb"), "select 1"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error[E_DB_PATH]");
    expect(result.stderr).toContain("does not exist");
    expect(existsSync(join(dir, "missing"))).toBe(false);
  });

  test("a directory given as the database exits 1", async () => {
    const result = await restload(["sql", tempDir(), "select 1"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("not a regular file");
  });

  test("--json and --csv together are a usage error", async () => {
    const result = await restload(["sql", join(tempDir(), "x.duckdb"), "select 1", "--json", "--csv"]);
    expect(result.code).toBe(64);
  });

  test("an invalid --lock-timeout is a usage error", async () => {
    const result = await restload(["sql", join(tempDir(), "x.duckdb"), "select 1", "--lock-timeout", "soon"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("--lock-timeout expects a number of seconds");
  });
});
