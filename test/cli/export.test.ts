// `restload export`: a real run's tables as Parquet files, read back by DuckDB and by an
// independent reader (hyparquet); unchanged tables write nothing; appends add one file; a merge
// rewrites the table.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { asyncBufferFromFile, parquetReadObjects, parquetSchema, parquetMetadataAsync } from "hyparquet";
import { bunBin, mainTs, repoRoot, runMain, tempDir } from "../helpers.ts";
import { mutableApi, project, type Project, testHead } from "../run/_helpers.ts";
import type { TestServer } from "../servers/server.ts";

const servers: TestServer[] = [];

/** The generation a table folder points to (the last segment of its symlink). */
const readlinkGeneration = (lake: string, table: string) =>
  readlinkSync(join(lake, "data", table))
    .split("/")
    .pop();
afterAll(async () => {
  for (const server of servers) await server.stop();
});

/** Records with an integer past 2^53 in `big`, written as raw JSON text so it stays exact, a timestamp and a child list. */
function records(titles: readonly string[]): unknown[] {
  return titles.map((title, index) => ({
    id: index + 1,
    title,
    big: JSON.rawJSON(`900719925474099${index + 3}`),
    updated_at: `2024-03-0${index + 1}T10:00:00Z`,
    labels: [{ name: `a${index + 1}` }, { name: `b${index + 1}` }],
    huge: JSON.rawJSON(`12345678901234567890123456789${index}`),
    amount: JSON.rawJSON(`1234567890123.456${index}`),
    meta: { nested: [index, { deep: true }] },
  }));
}

const pipeline = (url: string) =>
  `${testHead(url)}\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = { disposition = "merge", strategy = "delete-insert" }\nendpoint.paginator = "single_page"\ncolumns.meta = { data_type = "json" }\ncolumns.amount = { data_type = "decimal", precision = 20, scale = 4 }\n`;

async function exportTo(p: Project, dir: string, extra: string[] = []) {
  const ran = await runMain(["export", p.pipeline, "--to", dir, "--json", ...extra]);
  if (ran.code !== 0) throw new Error(`export failed (${ran.code}): ${ran.stderr}`);
  return JSON.parse(ran.stdout) as {
    tables: { table: string; rows: number; status: string; file: string | null; rows_written: number }[];
    files_written: number;
  };
}

/** The Parquet files a reader listing `folder` sees. */
const parquetFiles = (folder: string) =>
  readdirSync(folder)
    .filter((name) => name.endsWith(".parquet"))
    .sort();

/** Every row of every Parquet file of a table folder, read by hyparquet. */
async function folderRows(folder: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const name of parquetFiles(folder)) rows.push(...(await hyparquetRows(join(folder, name))));
  return rows;
}

/** Rows of `sql` run by DuckDB (through `restload sql` on a scratch database). */
async function duckdb(sql: string): Promise<Record<string, unknown>[]> {
  const ran = await runMain(["sql", join(tempDir(), "scratch.duckdb"), sql, "--json"]);
  if (ran.code !== 0) throw new Error(`query failed: ${ran.stderr}`);
  return JSON.parse(ran.stdout);
}

async function hyparquetRows(file: string): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: await asyncBufferFromFile(file) });
}

describe("export", () => {
  test("publishes each table as Parquet, exact, readable by DuckDB and hyparquet; unchanged tables write nothing; a merge rewrites", async () => {
    const { server, state } = mutableApi(servers, records(["one", "two", "three"]));
    const p = project(pipeline(server.url));
    expect((await p.run()).code).toBe(0);
    const lake = tempDir("restload-lake-");
    const first = await exportTo(p, lake);
    expect(first.tables.map((table) => [table.table, table.status, table.rows])).toEqual([
      ["items", "rewritten", 3],
      ["items__labels", "rewritten", 6],
    ]);
    const items = join(lake, "data", "items", "part-000001.parquet");
    const labels = join(lake, "data", "items__labels", "part-000001.parquet");
    expect(readdirSync(join(lake, "data")).sort()).toEqual([".restload", "_manifest.json", "items", "items__labels"]);
    expect(readdirSync(join(lake, "data", "items"))).toEqual(["part-000001.parquet"]);
    expect(lstatSync(join(lake, "data", "items")).isSymbolicLink()).toBe(true);

    // DuckDB reads the glob: exact ids, exact big integers, timestamps with time zone.
    const stored = await p.query("select id, _rl_id, _rl_load_id from data.items order by id");
    const glob = (table: string) => `read_parquet('${join(lake, "data", table)}/*.parquet')`;
    expect(await duckdb(`select id, _rl_id, _rl_load_id from ${glob("items")} order by id`)).toEqual(stored);
    expect(await duckdb(`select big::VARCHAR as big from ${glob("items")} order by id`)).toEqual([
      { big: "9007199254740993" },
      { big: "9007199254740994" },
      { big: "9007199254740995" },
    ]);
    const [types] = await duckdb(`select typeof(updated_at) as t, typeof(big) as b, typeof(id) as i from ${glob("items")} limit 1`);
    expect(types).toEqual({ t: "TIMESTAMP WITH TIME ZONE", b: "BIGINT", i: "BIGINT" });
    expect(await duckdb(`select count(*) as n from ${glob("items__labels")}`)).toEqual([{ n: 6 }]);
    // HUGEINT as an exact DECIMAL(38,0), DECIMAL as it is, JSON as its text.
    expect(
      await duckdb(
        `select typeof(huge) as ht, huge::VARCHAR as huge, typeof(amount) as at, amount::VARCHAR as amount, typeof(meta) as mt, meta from ${glob("items")} order by id limit 1`,
      ),
    ).toEqual([
      {
        ht: "DECIMAL(38,0)",
        huge: "123456789012345678901234567890",
        at: "DECIMAL(20,4)",
        amount: "1234567890123.4560",
        mt: "VARCHAR",
        meta: '{"nested":[0,{"deep":true}]}',
      },
    ]);
    expect(await p.query("select typeof(huge) as t from data.items limit 1")).toEqual([{ t: "HUGEINT" }]);

    // hyparquet, an independent reader: the same rows, ids and timestamps as Dates.
    const read = await hyparquetRows(items);
    expect(read.map((row) => [row.id, row._rl_id, row._rl_load_id])).toEqual(
      stored.map((row) => [BigInt(row.id as number), row._rl_id, row._rl_load_id]),
    );
    expect(read.map((row) => row.big)).toEqual([9007199254740993n, 9007199254740994n, 9007199254740995n]);
    expect(JSON.parse(read[0]!.meta as string)).toEqual({ nested: [0, { deep: true }] });
    expect(read[0]!.updated_at).toBeInstanceOf(Date);
    expect((read[0]!.updated_at as Date).toISOString()).toBe("2024-03-01T10:00:00.000Z");
    const storedLabels = await p.query("select _rl_id, _rl_parent_id, name from data.items__labels order by name");
    const readLabels = (await hyparquetRows(labels)).map((row) => ({
      _rl_id: row._rl_id,
      _rl_parent_id: row._rl_parent_id,
      name: row.name,
    }));
    expect(readLabels.sort((a, b) => (String(a.name) < String(b.name) ? -1 : 1))).toEqual(storedLabels as never);
    const schema = parquetSchema(await parquetMetadataAsync(await asyncBufferFromFile(items)));
    const updated = schema.children.find((child) => child.element.name === "updated_at")!.element;
    expect(updated.logical_type).toMatchObject({ type: "TIMESTAMP", isAdjustedToUTC: true });

    // The manifest lists tables, files, rows and load ids.
    const manifest = JSON.parse(readFileSync(join(lake, "data", "_manifest.json"), "utf8"));
    expect(manifest.tables.items).toMatchObject({ path: "items", generation: 1, rows: 3 });
    expect(manifest.tables.items.files).toMatchObject([{ name: "part-000001.parquet", rows: 3 }]);
    expect(manifest.tables.items.columns).toContainEqual({ name: "updated_at", type: "TIMESTAMP WITH TIME ZONE" });
    expect(manifest.tables.items.load_ids).toEqual([...new Set(stored.map((row) => row._rl_load_id))]);

    // A second export with nothing new writes no file.
    const before = [statSync(items), statSync(labels)].map((stat) => [stat.ino, stat.mtimeMs]);
    const second = await exportTo(p, lake);
    expect(second.tables.map((table) => table.status)).toEqual(["unchanged", "unchanged"]);
    expect(second.files_written).toBe(0);
    expect(readlinkGeneration(lake, "items")).toBe("000001");
    expect([statSync(items), statSync(labels)].map((stat) => [stat.ino, stat.mtimeMs])).toEqual(before);

    // A merge changing a row: the export holds the new version, no duplicates, no temp files left.
    state.records = [{ ...(records(["one", "TWO"])[1] as object), labels: [{ name: "only" }] }];
    expect((await p.run()).code).toBe(0);
    const third = await exportTo(p, lake);
    expect(third.tables.map((table) => [table.table, table.status, table.rows])).toEqual([
      ["items", "rewritten", 3],
      ["items__labels", "rewritten", 5],
    ]);
    // A new complete set: the old file is gone from the folder, the new one holds every row.
    expect(parquetFiles(join(lake, "data", "items"))).toEqual(["part-000002.parquet"]);
    const merged = await folderRows(join(lake, "data", "items"));
    expect(merged.map((row) => [row.id, row.title]).sort()).toEqual([
      [1n, "one"],
      [2n, "TWO"],
      [3n, "three"],
    ]);
    expect(await duckdb(`select name from ${glob("items__labels")} where name in ('a2', 'b2', 'only') order by name`)).toEqual([
      { name: "only" },
    ]);
    expect(readdirSync(join(lake, "data", ".restload")).filter((name) => name.startsWith("tmp-"))).toEqual([]);
  });

  test("--select exports only the selected units' tables, and the database must exist", async () => {
    const { server } = mutableApi(servers, records(["one"]));
    const p = project(
      `${pipeline(server.url)}[[resources]]\nname = "other"\nendpoint.path = "other"\nendpoint.paginator = "single_page"\n`,
    );
    expect((await p.run()).code).toBe(0);
    const lake = tempDir("restload-lake-");
    const ran = await exportTo(p, lake, ["--select", "other"]);
    expect(ran.tables.map((table) => table.table)).toEqual(["other", "other__labels", "other__meta__nested"]);
    expect(existsSync(join(lake, "data", "items"))).toBe(false);
    const missing = await runMain(["export", p.pipeline, "--to", tempDir("restload-lake-"), "--database", join(p.dir, "none.duckdb")]);
    expect(missing.code).toBe(1);
    // The folder belongs to the database that first exported to it: another one is refused, and nothing changes.
    const other = await runMain(["export", p.pipeline, "--to", lake, "--database", join(p.dir, "none.duckdb")]);
    expect(other.code).toBe(78);
    expect(other.stderr).toContain(`"${join(lake, "data")}" is the export of another database (${p.database})`);
    expect(readdirSync(join(lake, "data")).sort()).toEqual([
      ".restload",
      "_manifest.json",
      "other",
      "other__labels",
      "other__meta__nested",
    ]);
  });

  test("while another process holds the database it waits --lock-timeout, then exits 75 and writes nothing", async () => {
    const { server } = mutableApi(servers, records(["one"]));
    const p = project(pipeline(server.url));
    expect((await p.run()).code).toBe(0);
    const holder = Bun.spawn([bunBin, join(repoRoot, "test", "fixtures", "hold-database.ts"), p.database, "20000"], {
      stdout: "pipe",
      stderr: "inherit",
    });
    try {
      const reader = holder.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toContain("ready");
      reader.releaseLock();
      const lake = tempDir("restload-lake-");
      const ran = await runMain(["export", p.pipeline, "--to", lake, "--lock-timeout", "1"]);
      expect(ran.code).toBe(75);
      expect(ran.stderr).toContain("E_LOCKED");
      expect(readdirSync(join(lake, "data")).filter((name) => !name.startsWith("."))).toEqual([]);
      expect(readdirSync(join(lake, "data", ".restload"))).toEqual([]);
    } finally {
      holder.kill();
      await holder.exited;
    }
  });

  test("after a merge that changes 20 of 300 rows the export holds 300 rows, the new versions, no duplicates", async () => {
    const rows = (changed: number) =>
      Array.from({ length: 300 }, (_, index) => ({ id: index + 1, title: index < changed ? `new ${index + 1}` : `old ${index + 1}` }));
    const { server, state } = mutableApi(servers, rows(0));
    const p = project(
      `${testHead(server.url)}\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.paginator = "single_page"\n`,
    );
    expect((await p.run()).code).toBe(0);
    const lake = tempDir("restload-lake-");
    await exportTo(p, lake);
    state.records = rows(20).slice(0, 20);
    expect((await p.run()).code).toBe(0);
    const merged = await exportTo(p, lake);
    expect(merged.tables.map((table) => [table.table, table.status, table.rows, table.rows_written])).toEqual([
      ["items", "rewritten", 300, 300],
    ]);
    const folder = join(lake, "data", "items");
    const read = await folderRows(folder);
    expect(read).toHaveLength(300);
    expect(new Set(read.map((row) => row.id)).size).toBe(300);
    expect(
      read
        .filter((row) => String(row.title).startsWith("new"))
        .map((row) => Number(row.id))
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    expect(
      await duckdb(
        `select count(*) as n, count(distinct id) as d, count(*) filter (where title like 'new%') as changed from read_parquet('${folder}/*.parquet')`,
      ),
    ).toEqual([{ n: 300, d: 300, changed: 20 }]);
  });

  test("an append table gets one new file per export with new rows; the files already there stay the same files", async () => {
    let next = 1;
    const batch = (count: number) => Array.from({ length: count }, () => ({ id: next++, tags: [{ name: "t" }] }));
    const { server, state } = mutableApi(servers, batch(10));
    const p = project(
      `${testHead(server.url)}\n[[resources]]\nname = "events"\nprimary_key = "id"\nwrite_disposition = "append"\nendpoint.paginator = "single_page"\n`,
    );
    expect((await p.run()).code).toBe(0);
    const lake = tempDir("restload-lake-");
    await exportTo(p, lake);
    const folder = join(lake, "data", "events");
    const first = statSync(join(folder, "part-000001.parquet")).ino;
    state.records = batch(5);
    expect((await p.run()).code).toBe(0);
    const appended = await exportTo(p, lake);
    expect(appended.tables.map((table) => [table.table, table.status, table.rows, table.file, table.rows_written])).toEqual([
      ["events", "appended", 15, "part-000002.parquet", 5],
      ["events__tags", "appended", 15, "part-000002.parquet", 5],
    ]);
    expect(parquetFiles(folder)).toEqual(["part-000001.parquet", "part-000002.parquet"]);
    expect(statSync(join(folder, "part-000001.parquet")).ino).toBe(first);
    const ids = (await folderRows(folder)).map((row) => Number(row.id)).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 15 }, (_, index) => index + 1));
    const stored = await p.query("select _rl_load_id as id, count(*) as n from data.events group by 1 order by 1");
    const manifest = JSON.parse(readFileSync(join(lake, "data", "_manifest.json"), "utf8"));
    expect(manifest.tables.events.files.map((file: { rows: number; load_ids: string[] }) => [file.load_ids, file.rows])).toEqual(
      stored.map((row) => [[row.id], row.n]),
    );

    // A new column: the files already there lack it, so the table is written again as one complete set.
    state.records = [{ id: next++, tags: [], extra: "new field" }];
    expect((await p.run()).code).toBe(0);
    const widened = await exportTo(p, lake);
    expect(widened.tables.find((table) => table.table === "events")).toMatchObject({
      status: "rewritten",
      rows: 16,
      file: "part-000003.parquet",
    });
    expect(parquetFiles(folder)).toEqual(["part-000003.parquet"]);
    expect(await duckdb(`select count(*) as n, count(extra) as e from read_parquet('${folder}/*.parquet')`)).toEqual([{ n: 16, e: 1 }]);
  });

  test("bad export folders: a folder restload did not publish, or a path under a file, fail clearly and change nothing", async () => {
    const { server } = mutableApi(servers, records(["one"]));
    const p = project(pipeline(server.url));
    expect((await p.run()).code).toBe(0);
    const lake = tempDir("restload-lake-");
    mkdirSync(join(lake, "data", "items"), { recursive: true });
    writeFileSync(join(lake, "data", "items", "mine.parquet"), "not restload's");
    const occupied = await runMain(["export", p.pipeline, "--to", lake]);
    expect(occupied.code).toBe(1);
    expect(occupied.stderr).toContain(`"${join(lake, "data", "items")}" is not a table folder restload published`);
    expect(occupied.stderr).toContain("move");
    expect(readdirSync(join(lake, "data", "items"))).toEqual(["mine.parquet"]);
    expect(existsSync(join(lake, "data", "_manifest.json"))).toBe(false);

    const file = join(tempDir(), "a-file");
    writeFileSync(file, "");
    const underFile = await runMain(["export", p.pipeline, "--to", join(file, "lake")]);
    expect(underFile.code).toBe(1);
    expect(underFile.stderr).toContain(`Cannot write the export folder "${join(file, "lake", "data")}"`);
    // Both failures are recorded for the status page, with their reason.
    expect(
      await p.query("select status, error like '%not a table folder%' as occupied from data._rl_exports order by finished_at"),
    ).toEqual([
      { status: "failed", occupied: true },
      { status: "failed", occupied: false },
    ]);
    const usage = await runMain(["export", p.pipeline]);
    expect(usage.code).toBe(64);
    expect(usage.stderr).toContain("--to DIR, or [export] dir");
  });

  test("scd2 with another system_prefix: retired versions and child rows exported exactly; a dropped table's folder goes; a dataset gone changes nothing", async () => {
    const { server, state } = mutableApi(servers, [
      { id: 1, name: "one", tags: [{ t: "a" }] },
      { id: 2, name: "two", tags: [{ t: "b" }, { t: "c" }] },
    ]);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\nsystem_prefix = "_x_"\n[client]\nbase_url = "${server.url}"\n` +
        `[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = { disposition = "merge", strategy = "scd2" }\nendpoint.paginator = "single_page"\n` +
        `[[resources]]\nname = "logs"\nendpoint.path = "logs"\nendpoint.paginator = "single_page"\n`,
    );
    expect((await p.run()).code).toBe(0);
    const lake = tempDir("restload-lake-");
    await exportTo(p, lake);
    state.records = [
      { id: 1, name: "ONE", tags: [{ t: "a" }] },
      { id: 2, name: "two", tags: [{ t: "b" }, { t: "c" }] },
    ];
    expect((await p.run()).code).toBe(0);
    const second = await exportTo(p, lake);
    expect(second.tables.filter((table) => table.table.startsWith("items")).map((table) => [table.table, table.status])).toEqual([
      ["items", "rewritten"],
      ["items__tags", "appended"],
    ]);
    const exactly = async (table: string, columns: string) => {
      const stored = await p.query(`select ${columns} from data.${table} order by all`);
      expect(await duckdb(`select ${columns} from read_parquet('${join(lake, "data", table)}/*.parquet') order by all`)).toEqual(stored);
      return stored;
    };
    const versions = await exactly("items", "_x_id, id, name, _x_valid_from, _x_valid_to, _x_load_id");
    expect(versions.map((row) => [row.name, row._x_valid_to === null])).toEqual(
      expect.arrayContaining([
        ["one", false],
        ["ONE", true],
        ["two", true],
      ]),
    );
    expect(await exactly("items__tags", "_x_id, _x_parent_id, t")).toHaveLength(4);

    // A dropped resource's table folder is removed; the others stay.
    expect((await runMain(["drop", p.pipeline, "logs", "--yes"])).code).toBe(0);
    const dropped = await exportTo(p, lake);
    expect(dropped.tables.filter((table) => table.status === "removed").map((table) => table.table)).toEqual(["logs", "logs__tags"]);
    expect(existsSync(join(lake, "data", "logs"))).toBe(false);

    // The database without the dataset (dropped by hand): a warning, and every table folder stays.
    expect((await runMain(["sql", p.database, "drop schema data cascade"])).code).toBe(0);
    const gone = await runMain(["export", p.pipeline, "--to", lake]);
    expect(gone.code).toBe(0);
    expect(gone.stderr).toContain('the database has no dataset "data" yet');
    expect(readdirSync(join(lake, "data")).sort()).toEqual([".restload", "_manifest.json", "items", "items__tags"]);
    expect(parquetFiles(join(lake, "data", "items"))).toHaveLength(1);
    // A failed export is not recorded into a database without the dataset: recording would create
    // the dataset, and the next export would find it empty and unpublish every table.
    mkdirSync(join(lake, "data", ".restload", "tables", "stray"), { recursive: true });
    writeFileSync(join(lake, "data", "stray"), "not a table folder");
    expect((await runMain(["export", p.pipeline, "--to", lake])).code).toBe(1);
    expect(await p.query("select count(*) as n from duckdb_schemas() where schema_name = 'data'")).toEqual([{ n: 0 }]);
  });

  test("the lake is readable by other users whatever the umask (a systemd service runs with 0077)", async () => {
    const { server } = mutableApi(servers, records(["one"]));
    const p = project(pipeline(server.url));
    expect((await p.run()).code).toBe(0);
    const lake = join(tempDir("restload-lake-"), "new", "lake");
    const umask = process.umask(0o077);
    try {
      await exportTo(p, lake);
    } finally {
      process.umask(umask);
    }
    const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
    const generation = join(lake, "data", ".restload", "tables", "items", "000001");
    expect(
      [lake, join(lake, "data"), join(lake, "data", ".restload"), join(lake, "data", ".restload", "tables", "items"), generation].map(mode),
    ).toEqual(["755", "755", "755", "755", "755"]);
    expect([join(generation, "part-000001.parquet"), `${generation}.json`, join(lake, "data", "_manifest.json")].map(mode)).toEqual([
      "644",
      "644",
      "644",
    ]);
  });

  test("another export of the same folder is waited for up to --lock-timeout, then exit 75 naming it; a dead one's lock is taken over", async () => {
    const { server } = mutableApi(servers, records(["one"]));
    const p = project(pipeline(server.url));
    expect((await p.run()).code).toBe(0);
    const lake = tempDir("restload-lake-");
    await exportTo(p, lake);
    const holder = Bun.spawn(["sleep", "30"]);
    try {
      const lock = join(lake, "data", ".restload", "lock");
      writeFileSync(lock, JSON.stringify({ pid: holder.pid, host: hostname(), pipeline: "data", since: new Date().toISOString() }));
      const waited = await runMain(["export", p.pipeline, "--to", lake, "--lock-timeout", "1"]);
      expect(waited.code).toBe(75);
      expect(waited.stderr).toContain(`Cannot take the lock "${lock}" as process ${holder.pid} on ${hostname()} holds it`);
      // SIGTERM while waiting ends the wait at once: exit 143, recorded as a failed export.
      const stopped = Bun.spawn([bunBin, mainTs, "export", p.pipeline, "--to", lake, "--lock-timeout", "60"], {
        cwd: repoRoot,
        stdout: "ignore",
        stderr: "pipe",
      });
      await Bun.sleep(1500);
      const signalledAt = Date.now();
      stopped.kill("SIGTERM");
      expect(await stopped.exited).toBe(143);
      expect(Date.now() - signalledAt).toBeLessThan(10_000);
      expect(await new Response(stopped.stderr).text()).toContain(`Interrupted by SIGTERM while waiting for the lock "${lock}"`);
      expect(await p.query("select status, error from data._rl_exports order by finished_at desc limit 1")).toEqual([
        { status: "failed", error: `Interrupted by SIGTERM while waiting for the lock "${lock}"` },
      ]);
      holder.kill();
      await holder.exited;
      expect((await runMain(["export", p.pipeline, "--to", lake, "--lock-timeout", "1"])).code).toBe(0);
      expect(existsSync(lock)).toBe(false);
    } finally {
      holder.kill();
    }
  });
});
