// `[export] dir` in the pipeline file: a run whose every unit committed publishes the dataset as
// Parquet afterwards (read back with DuckDB) and records the export with its run id; a failed run
// exports nothing; a folder that cannot be written fails the command (exit 1) with the rows kept;
// a wrong `[export]` table is refused (78). Real local servers, real DuckDB files.
import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { runMain, tempDir } from "../helpers.ts";
import { mutableApi, project, testHead } from "../run/_helpers.ts";
import { json, startServer, serversStoppedAfterAll } from "../servers/server.ts";

const servers = serversStoppedAfterAll();

const items = [1, 2, 3].map((id) => ({ id, title: `item ${id}`, labels: [{ name: `a${id}` }, { name: `b${id}` }] }));

/** Two units, `items` and `others` (each with its child table of labels), then `[export]` as given. */
function pipeline(url: string, exportTable: string): string {
  return (
    `${testHead(url)}max_attempts = 2\nbackoff_factor = 0\n` +
    `[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.paginator = "single_page"\n` +
    `[[resources]]\nname = "others"\nendpoint.path = "others"\nendpoint.paginator = "single_page"\n` +
    exportTable
  );
}

/** Rows of `sql` run by DuckDB (through `restload sql` on a scratch database). */
async function duckdb(sql: string): Promise<Record<string, unknown>[]> {
  const ran = await runMain(["sql", join(tempDir(), "scratch.duckdb"), sql, "--json"]);
  if (ran.code !== 0) throw new Error(`query failed: ${ran.stderr}`);
  return JSON.parse(ran.stdout);
}

const parquet = (lake: string, table: string) => `read_parquet('${join(lake, "data", table)}/*.parquet')`;

/** The JSON log lines of a run's stderr. */
function events(stderr: string): Record<string, unknown>[] {
  return stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
}

describe("a run with [export] dir", () => {
  test("publishes the tables as Parquet after the run, records the export with the run's id, logs it before run_finished", async () => {
    const { server } = mutableApi(servers, items);
    // Relative: beside the pipeline file, as pipeline.database is.
    const p = project(pipeline(server.url, `[export]\ndir = "lake"\n`));
    const lake = join(p.dir, "lake");
    const ran = await p.run(["--log-format", "json", "--json"]);
    expect(ran.code).toBe(0);

    // Exact counts and ids, read back by DuckDB from the Parquet files alone.
    expect(await duckdb(`select id, title from ${parquet(lake, "items")} order by id`)).toEqual(
      items.map(({ id, title }) => ({ id, title })),
    );
    expect(await duckdb(`select count(*) as n from ${parquet(lake, "items__labels")}`)).toEqual([{ n: 6 }]);
    expect(await duckdb(`select id from ${parquet(lake, "others")} order by id`)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(await duckdb(`select _rl_id from ${parquet(lake, "items")} order by id`)).toEqual(
      await p.query("select _rl_id from data.items order by id"),
    );

    // `_rl_exports`: one row, ok, naming the run that triggered it.
    const [run] = await p.query("select run_id from data._rl_runs");
    const exports = await p.query(
      "select run_id, status, dir, tables_written, tables_unchanged, files_written, rows_written, error from data._rl_exports",
    );
    expect(exports).toEqual([
      {
        run_id: run!.run_id,
        status: "ok",
        dir: join(lake, "data"),
        tables_written: 4,
        tables_unchanged: 0,
        files_written: 4,
        rows_written: 18,
        error: null,
      },
    ]);

    // The summary carries the export; the log has export_started and export_finished, run_finished last.
    const summary = JSON.parse(ran.stdout);
    expect(summary).toMatchObject({ run_id: run!.run_id, status: "succeeded", exit_code: 0 });
    expect(summary.export).toMatchObject({
      status: "ok",
      dir: join(lake, "data"),
      tables_written: 4,
      tables_unchanged: 0,
      tables_removed: 0,
      files_written: 4,
      rows_written: 18,
      record_error: null,
    });
    expect(summary.export.bytes_written).toBeGreaterThan(0);
    const all = events(ran.stderr);
    expect(all.slice(-3).map((event) => event.event)).toEqual(["export_started", "export_finished", "run_finished"]);
    expect(all.at(-3)).toEqual({
      time: expect.any(String),
      level: "info",
      event: "export_started",
      run_id: run!.run_id,
      dir: join(lake, "data"),
    });
    expect(all.at(-2)).toMatchObject({
      level: "info",
      run_id: run!.run_id,
      dir: join(lake, "data"),
      export_id: summary.export.export_id,
      tables_written: 4,
      tables_unchanged: 0,
      files_written: 4,
      rows_written: 18,
      duration_ms: expect.any(Number),
    });
    expect(all.at(-1)).toMatchObject({ event: "run_finished", status: "succeeded", exit_code: 0, rows: 18 });

    // A second run, in text: the export's lines in the log and in the summary; each run's export recorded.
    const again = await p.run();
    expect(again.code).toBe(0);
    const done = /export to .*: \d+ tables? written, \d+ unchanged; \d+ files?, \d+ rows? in \d+\.\d s/.source;
    expect(again.stderr).toContain(`export to ${join(lake, "data")}: started\n`);
    expect(again.stderr).toMatch(new RegExp(`\n${done} \\(export \\S+\\)\nrun \\S+: succeeded \\(exit 0\\)`));
    expect(again.stdout).toMatch(new RegExp(`\n${done}\n$`));
    expect(await p.query("select count(*) as n, count(distinct run_id) as runs from data._rl_exports where status = 'ok'")).toEqual([
      { n: 2, runs: 2 },
    ]);
  });

  test("--select exports only the selected units' tables; --dry-run exports nothing", async () => {
    const { server } = mutableApi(servers, items);
    const p = project(pipeline(server.url, `[export]\ndir = "lake"\n`));
    const lake = join(p.dir, "lake");
    const dry = await p.run(["--dry-run", "--json"]);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout).export).toBeNull();
    expect(existsSync(lake)).toBe(false);

    const ran = await p.run(["--select", "others", "--json"]);
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout).export).toMatchObject({ status: "ok", tables_written: 2 });
    expect(existsSync(join(lake, "data", "others"))).toBe(true);
    expect(existsSync(join(lake, "data", "items"))).toBe(false);
  });

  test("a run whose unit fails (the API answering 500 after retries) exports nothing and exits 1", async () => {
    const server = startServer((request) => (request.url.pathname === "/others" ? json({ error: "down" }, { status: 500 }) : json(items)));
    servers.push(server);
    const p = project(pipeline(server.url, `[export]\ndir = "lake"\n`));
    const ran = await p.run(["--log-format", "json", "--json"]);
    expect(ran.code).toBe(1);
    // Both attempts of the failing unit were made: the failure is the API's, after retries.
    expect(server.requests.filter((request) => request.url.pathname === "/others").length).toBe(2);
    expect(existsSync(join(p.dir, "lake"))).toBe(false);
    expect(JSON.parse(ran.stdout)).toMatchObject({ status: "failed", exit_code: 1, export: null });
    expect(events(ran.stderr).map((event) => event.event)).not.toContain("export_started");
    expect(await p.query("select count(*) as n from data._rl_exports")).toEqual([{ n: 0 }]);
    // The unit that committed keeps its rows.
    expect(await p.query("select count(*) as n from data.items")).toEqual([{ n: 3 }]);
  });

  test("an export folder that cannot be written fails the command (exit 1) naming it; the rows stay committed and the failure is recorded", async () => {
    const { server } = mutableApi(servers, items);
    const p = project(pipeline(server.url, `[export]\ndir = "blocker/lake"\n`));
    writeFileSync(join(p.dir, "blocker"), "a regular file, not a folder\n");
    const folder = join(p.dir, "blocker", "lake", "data");

    const text = await p.run();
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(`export to ${folder}: failed after`);
    expect(text.stderr).toContain("the run's rows stay committed");
    expect(text.stderr).toMatch(/run \S+: succeeded, export failed \(exit 1\), 18 rows/);
    expect(text.stdout).toContain(`export to ${folder}: failed (exit 1); the run's rows stay committed`);
    expect(await p.query("select count(*) as n from data.items")).toEqual([{ n: 3 }]);
    expect(await p.query("select status, exit_code from data._rl_runs")).toEqual([{ status: "succeeded", exit_code: 0 }]);

    const ran = await p.run(["--log-format", "json", "--json"]);
    expect(ran.code).toBe(1);
    const summary = JSON.parse(ran.stdout);
    expect(summary).toMatchObject({ status: "succeeded", exit_code: 1, export: { status: "failed", dir: folder } });
    expect(summary.export.error.message).toContain(folder);
    const all = events(ran.stderr);
    expect(all.slice(-2).map((event) => [event.event, event.level])).toEqual([
      ["export_failed", "error"],
      ["run_finished", "error"],
    ]);
    expect(all.at(-2)).toMatchObject({ run_id: summary.run_id, dir: folder, code: summary.export.error.code, hint: expect.any(String) });
    expect(String(all.at(-2)!.message)).toContain(folder);
    expect(all.at(-1)).toMatchObject({ status: "succeeded", exit_code: 1 });

    // Each run's failed export has its row in `_rl_exports`, with the run's id and the error.
    const runs = (await p.query("select run_id from data._rl_runs order by started_at")).map((row) => row.run_id);
    const failed = await p.query("select run_id, status, dir, files_written, error from data._rl_exports order by started_at");
    expect(failed.map((row) => [row.run_id, row.status, row.dir, row.files_written])).toEqual(runs.map((id) => [id, "failed", folder, 0]));
    for (const row of failed) expect(String(row.error)).toContain(folder);
  });
});

describe("a run whose export waits for the export folder", () => {
  test("another export holding the folder past --lock-timeout: the run's export exits 75, naming the holder", async () => {
    const { server } = mutableApi(servers, items);
    const p = project(pipeline(server.url, `[export]\ndir = "lake"\n`));
    expect((await p.run()).code).toBe(0);
    const holder = Bun.spawn(["sleep", "30"]);
    try {
      const lock = join(p.dir, "lake", "data", ".restload", "lock");
      writeFileSync(lock, JSON.stringify({ pid: holder.pid, host: hostname(), pipeline: "data", since: new Date().toISOString() }));
      const ran = await p.run(["--lock-timeout", "1", "--json"]);
      expect(ran.code).toBe(75);
      expect(JSON.parse(ran.stdout)).toMatchObject({
        status: "succeeded",
        exit_code: 75,
        export: { status: "failed", error: { code: "E_LOCKED" } },
      });
      expect(ran.stderr).toContain(`as process ${holder.pid} on ${hostname()} holds it`);
    } finally {
      holder.kill();
    }
  });
});

describe("[export] in the pipeline file", () => {
  test("without dir, or with an unknown key, the run is refused (78) naming the key", async () => {
    const missing = project(pipeline("http://127.0.0.1:9/", "[export]\n"));
    const ran = await missing.run();
    expect(ran.code).toBe(78);
    expect(ran.stderr).toContain("export.dir: required key is missing");
    expect(existsSync(missing.database)).toBe(false);

    const unknown = await project(pipeline("http://127.0.0.1:9/", `[export]\ndir = "lake"\ndri = "lake"\n`)).run(["--json"]);
    expect(unknown.code).toBe(78);
    const { error } = JSON.parse(unknown.stdout);
    expect(error.problems).toEqual([{ path: "export.dri", message: expect.stringContaining('unknown key (did you mean "dir"?)') }]);
  });
});
