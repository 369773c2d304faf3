import { describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunBin, repoRoot, restload, runMain, tempDir } from "../helpers.ts";
import { project } from "../run/_helpers.ts";
import { json, startServer, type TestServer, serversStoppedAfterAll } from "../servers/server.ts";

const servers = serversStoppedAfterAll();

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
    expect(result.stderr).toContain("--lock-timeout expects");
  });
});

/** Three issues and two users (with a list of roles each). */
function api(): TestServer {
  const server = startServer((request) =>
    request.url.pathname === "/users"
      ? json([
          { id: 1, name: "ann", roles: ["admin", "dev"] },
          { id: 2, name: "bob", roles: ["dev"] },
        ])
      : json([1, 2, 3].map((id) => ({ id, title: `issue ${id}` }))),
  );
  servers.push(server);
  return server;
}

/** A pipeline named `name` loading issues and users into `dataset` of `<name>.duckdb`. */
const pipeline = (url: string, name: string, dataset: string) => `[pipeline]
name = "${name}"
dataset = "${dataset}"
[client]
base_url = "${url}"
[resource_defaults]
endpoint.paginator = "single_page"
[[resources]]
name = "issues"
[[resources]]
name = "users"
endpoint.path = "users"
`;

async function loaded(name: string, dataset: string) {
  const p = project(pipeline(api().url, name, dataset), name);
  expect((await p.run()).code).toBe(0);
  return p;
}

/** Another process holding `database` open read-only until stopped. */
async function holdReadOnly(database: string): Promise<{ stop(): Promise<void> }> {
  const script = join(tempDir(), "read-only.ts");
  writeFileSync(
    script,
    `import { openDatabase } from ${JSON.stringify(join(repoRoot, "src", "db", "open.ts"))};
const db = await openDatabase(process.argv[2], { create: false, readOnly: true, lockTimeoutMs: 0, memoryLimit: "128MB" });
console.log("ready");
await new Promise((done) => setTimeout(done, 20_000));
db.close();
`,
  );
  const holder = Bun.spawn([bunBin, script, database], { stdout: "pipe", stderr: "inherit" });
  const reader = holder.stdout.getReader();
  expect(new TextDecoder().decode((await reader.read()).value)).toContain("ready");
  reader.releaseLock();
  return {
    async stop() {
      holder.kill();
      await holder.exited;
    },
  };
}

const sqlJson = async (args: string[]) => {
  const result = await runMain(["sql", ...args, "--json"]);
  if (result.code !== 0) throw new Error(`sql failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout);
};

describe("restload sql <pipeline.toml>", () => {
  test("after a run, unqualified names resolve in the pipeline's dataset", async () => {
    const p = await loaded("test", "data");
    const result = await runMain(["sql", p.pipeline, "select count(*) as n from issues", "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([{ n: 3 }]);
    expect(result.stderr).toContain(`database: ${p.database}\n`);
    expect(result.stderr).toContain("dataset: data (the default schema, in catalog test)\n");
    // A catalog no schema is named like keeps DuckDB's name: two- and three-part names work as before.
    expect(await sqlJson([p.pipeline, "select count(*) as n from data.users__roles"])).toEqual([{ n: 3 }]);
    expect(await sqlJson([p.pipeline, "select count(*) as n from test.data.users"])).toEqual([{ n: 2 }]);
  });

  test("a dataset named like the file: describe blog.users and select from users both work", async () => {
    const p = await loaded("blog", "blog");
    const described = await sqlJson([p.pipeline, "describe blog.users"]);
    expect(described.map((column: { column_name: string }) => column.column_name)).toEqual(["_rl_load_id", "_rl_id", "id", "name"]);
    expect(await sqlJson([p.pipeline, "select name from users order by id"])).toEqual([{ name: "ann" }, { name: "bob" }]);
    expect(await sqlJson([p.pipeline, "select count(*) as n from blog.users__roles"])).toEqual([{ n: 3 }]);
    const result = await runMain(["sql", p.pipeline, "select current_database() as catalog, current_schema() as schema", "--csv"]);
    expect(result.stdout).toBe("catalog,schema\nblog_db,blog\n");
    expect(result.stderr).toContain("dataset: blog (the default schema, in catalog blog_db)");
    // Given the database file, the catalog keeps DuckDB's name.
    expect(await sqlJson([p.database, "select count(*) as n from blog.blog.users"])).toEqual([{ n: 2 }]);
  });

  test("a script that writes runs read-write; one that only reads leaves the file as it was", async () => {
    const p = await loaded("test", "data");
    const before = readFileSync(p.database);
    expect(await sqlJson([p.pipeline, "select count(*) as n from users"])).toEqual([{ n: 2 }]);
    expect(readFileSync(p.database).equals(before)).toBe(true);
    expect(
      await sqlJson([p.pipeline, "create table notes as select 1 as x; insert into notes values (2); select sum(x) as s from notes"]),
    ).toEqual([{ s: 3 }]);
    expect(await sqlJson([p.database, "select count(*) as n from data.notes"])).toEqual([{ n: 2 }]);
  });

  test("a script that writes runs once: an INSERT into another attached file before a write to the dataset lands once", async () => {
    const p = await loaded("test", "data");
    const other = join(tempDir(), "other.duckdb");
    expect((await runMain(["sql", other, "create table t(x int)"])).code).toBe(0);
    const result = await runMain(["sql", p.pipeline, `attach '${other}' as o; insert into o.t values (1); delete from issues; detach o`]);
    expect(result.code).toBe(0);
    expect(await sqlJson([other, "select count(*) as n from t"])).toEqual([{ n: 1 }]);
    expect(await sqlJson([p.pipeline, "select count(*) as n from issues"])).toEqual([{ n: 0 }]);
  });

  test("a script of queries opens read-only: it runs while another process reads the file, where a script that writes waits", async () => {
    const p = await loaded("test", "data");
    const reader = await holdReadOnly(p.database);
    try {
      const queries = await runMain([
        "sql",
        p.pipeline,
        "describe issues; show tables; summarize issues; pragma table_info('issues'); explain select 1; set variable n = 2; use data; select count(*) * getvariable('n') as n from issues",
        "--json",
        "--lock-timeout",
        "1",
      ]);
      expect(queries.stderr).toBe(`database: ${p.database}\ndataset: data (the default schema, in catalog test)\n`);
      expect(JSON.parse(queries.stdout)).toEqual([{ n: 6 }]);
      const write = await runMain(["sql", p.pipeline, "select 1; delete from issues", "--lock-timeout", "1"]);
      expect(write.code).toBe(75);
      expect(write.stderr).toContain("error[E_LOCKED]");
    } finally {
      await reader.stop();
    }
    expect(await sqlJson([p.pipeline, "select count(*) as n from issues"])).toEqual([{ n: 3 }]);
  });

  test("a query DuckDB refuses as a write reopens read-write when it comes first, and otherwise fails without running anything twice", async () => {
    const p = await loaded("test", "data");
    expect((await runMain(["sql", p.pipeline, "create sequence s"])).code).toBe(0);
    expect(await sqlJson([p.pipeline, "select nextval('s') as n"])).toEqual([{ n: 1 }]);
    const refused = await runMain(["sql", p.pipeline, "select 1; select nextval('s') as n"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("error[E_SQL]: Cannot run statement 2 of 2 as it writes to the database");
    expect(refused.stderr).toContain("hint: Statement 1 ran and is not run again.");
    // The refused statement did not run either: the sequence moves on from 1.
    expect(await sqlJson([p.pipeline, "select nextval('s') as n"])).toEqual([{ n: 2 }]);
  });

  test("a query that cannot be prepared before the statements above it ran runs after them on a read-write open; a bad first statement fails at once", async () => {
    const p = await loaded("test", "data");
    expect((await runMain(["sql", p.database, "create schema other; create table other.notes as select 7 as v"])).code).toBe(0);
    // Prepared before `use` ran, the second statement names a table the dataset does not hold.
    expect(await sqlJson([p.pipeline, "use test.other; select v from notes"])).toEqual([{ v: 7 }]);
    const bad = await runMain(["sql", p.pipeline, "select * from isues; delete from issues"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("error[E_SQL]");
    expect(bad.stderr).toContain("isues");
    expect(await sqlJson([p.pipeline, "select count(*) as n from issues"])).toEqual([{ n: 3 }]);
  });

  test("--database overrides the pipeline's, and a pipeline file is recognised without a .toml name", async () => {
    const p = await loaded("test", "data");
    const elsewhere = join(tempDir(), "copy.duckdb");
    copyFileSync(p.database, elsewhere);
    await runMain(["sql", p.pipeline, "delete from issues where id = 1"]);
    expect(await sqlJson([p.pipeline, "select count(*) as n from issues", "--database", elsewhere])).toEqual([{ n: 3 }]);
    const renamed = join(p.dir, "pipeline.conf");
    copyFileSync(p.pipeline, renamed);
    expect(await sqlJson([renamed, "select count(*) as n from issues"])).toEqual([{ n: 2 }]);
  });

  test("a pipeline whose database does not exist exits 1 and creates nothing", async () => {
    const p = project(pipeline("http://127.0.0.1:9/", "test", "data"));
    const result = await runMain(["sql", p.pipeline, "select 1"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error[E_DB_PATH]");
    expect(result.stderr).toContain("run the pipeline once");
    expect(existsSync(p.database)).toBe(false);
  });

  test("a dataset the database does not hold yet is a warning; the default schema stays main", async () => {
    const p = await loaded("test", "data");
    const other = project(pipeline("http://127.0.0.1:9/", "test", "other"));
    const result = await runMain(["sql", other.pipeline, "select count(*) as n from data.issues", "--csv", "--database", p.database]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("n\n3\n");
    expect(result.stderr).toContain('warning: the database has no dataset "other" yet');
  });

  test("a missing pipeline file exits 78; --database with a database file is a usage error", async () => {
    const missing = await runMain(["sql", join(tempDir(), "nope.toml"), "select 1"]);
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain("does not exist");
    const both = await runMain(["sql", join(tempDir(), "x.duckdb"), "select 1", "--database", "y.duckdb"]);
    expect(both.code).toBe(64);
    expect(both.stderr).toContain("--database goes with a pipeline file");
  });

  test("while another process holds the database it waits --lock-timeout, then exits 75 naming the holder", async () => {
    const p = await loaded("test", "data");
    const holderScript = join(repoRoot, "test", "fixtures", "hold-database.ts");
    const holder = Bun.spawn([bunBin, holderScript, p.database, "20000"], { stdout: "pipe", stderr: "inherit" });
    try {
      const reader = holder.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain("ready");
      reader.releaseLock();
      const result = await runMain(["sql", p.pipeline, "select 1", "--lock-timeout", "1"]);
      expect(result.code).toBe(75);
      expect(result.stderr).toContain(
        `error[E_LOCKED]: Cannot open database "${p.database}" as process ${holder.pid} (bun ${holderScript}`,
      );
    } finally {
      holder.kill();
      await holder.exited;
    }
  });
});
