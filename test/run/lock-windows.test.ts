// Lock windows: a run holds the database file only while it writes, so readers and a second
// pipeline writing into the same file get in between; a second run of the same pipeline is refused.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Ran, restload, tempDir } from "../helpers.ts";
import { startServer, type TestServer, serversStoppedAfterAll } from "../servers/server.ts";
import { linkedPage, spawnRun } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

const pages = 150;
const perPage = 10;
const total = pages * perPage;
const source = Array.from({ length: total }, (_, i) => ({ seq: i + 1, body: `event ${i + 1}` }));

/**
 * An API of `source` under any path, honouring `since` (closed), pages of 10 by a Link header, each
 * answered after 40 ms: ordered pages are requested one after another, so a run takes at least 6 s.
 */
function slowOrderedApi(): TestServer {
  const server = startServer(async (request) => {
    await Bun.sleep(40);
    const since = Number(request.url.searchParams.get("since") ?? 0);
    const rows = source.filter((row) => row.seq >= since);
    return linkedPage(request, rows, perPage);
  });
  servers.push(server);
  return server;
}

/** A pipeline `name` (dataset `<name>_data`) writing into `shared.duckdb` beside it, its records under `/<name>/events`. */
function pipelineFile(dir: string, name: string, url: string): string {
  const file = join(dir, `${name}.toml`);
  writeFileSync(
    file,
    `[pipeline]\nname = "${name}"\ndataset = "${name}_data"\ndatabase = "shared.duckdb"\ncheckpoint_interval = "1s"\n[client]\nbase_url = "${url}"\n[[resources]]\nname = "events"\nwrite_disposition = "append"\nendpoint.path = "${name}/events"\nendpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "seq", initial_value = 0, start_param = "since", row_order = "asc" }\n`,
  );
  return file;
}

const sql = (database: string, text: string) => restload(["sql", database, text, "--lock-timeout", "5", "--json"]);

describe("the database is held only while a run writes", () => {
  test("two pipelines write into one database file at once: a reader polling every second always gets in, sees rows mid-run, and both runs load exactly", async () => {
    const server = slowOrderedApi();
    const dir = tempDir("restload-locks-");
    const database = join(dir, "shared.duckdb");
    const alpha = pipelineFile(dir, "alpha", server.url);
    const beta = pipelineFile(dir, "beta", server.url);
    const runs = { alpha: spawnRun(alpha), beta: spawnRun(beta) };
    const alive = () => runs.alpha.proc.exitCode === null && runs.beta.proc.exitCode === null;
    const requestsOf = (name: string) => server.requests.filter((request) => request.url.pathname === `/${name}/events`);
    const diagnose = async () =>
      `alpha (exit ${runs.alpha.proc.exitCode}):\n${await runs.alpha.output}\nbeta (exit ${runs.beta.proc.exitCode}):\n${await runs.beta.output}`;

    // Both runs are past their start (system tables made) and waiting on HTTP.
    while (requestsOf("alpha").length === 0 || requestsOf("beta").length === 0) {
      if (!alive())
        throw new Error(`a run ended before both had requested (did one wait for the database the whole time?):\n${await diagnose()}`);
      await Bun.sleep(20);
    }

    const polls: { what: string; ran: Ran; midRun: boolean }[] = [];
    const poll = async (what: string, text: string) => {
      const started = Date.now();
      const ran = await sql(database, text);
      polls.push({ what, ran, midRun: alive() });
      await Bun.sleep(Math.max(0, 1000 - (Date.now() - started)));
      return ran;
    };
    // Until both tables exist (their first checkpoint committed), ask what exists.
    while (alive()) {
      const ran = await poll(
        "tables",
        "select count(*) as n from duckdb_tables() where schema_name in ('alpha_data', 'beta_data') and table_name = 'events'",
      );
      if (ran.code === 0 && JSON.parse(ran.stdout)[0].n === 2) break;
    }
    // Then count rows every second while both run.
    const seen = { alpha: [] as number[], beta: [] as number[] };
    while (alive()) {
      const ran = await poll(
        "counts",
        "select (select count(*) from alpha_data.events) as alpha, (select count(*) from beta_data.events) as beta",
      );
      if (ran.code !== 0) continue;
      const [counts] = JSON.parse(ran.stdout);
      seen.alpha.push(Number(counts.alpha));
      seen.beta.push(Number(counts.beta));
    }

    const [alphaCode, betaCode] = [await runs.alpha.proc.exited, await runs.beta.proc.exited];
    if (alphaCode !== 0 || betaCode !== 0) throw new Error(`the runs did not both succeed:\n${await diagnose()}`);

    // Every poll exited 0, and there were several while both ran.
    expect(polls.filter((entry) => entry.ran.code !== 0).map((entry) => `${entry.what}: ${entry.ran.stderr}`)).toEqual([]);
    expect(polls.filter((entry) => entry.midRun).length).toBeGreaterThanOrEqual(3);
    // Rows appeared while the runs were still going.
    expect(seen.alpha.some((n) => n > 0 && n < total)).toBe(true);
    expect(seen.beta.some((n) => n > 0 && n < total)).toBe(true);

    // Both tables exact, with several committed checkpoints each.
    for (const name of ["alpha", "beta"]) {
      const stats = await sql(
        database,
        `select count(*) as n, count(distinct seq) as ids, min(seq) as lo, max(seq) as hi from ${name}_data.events`,
      );
      expect(JSON.parse(stats.stdout)).toEqual([{ n: total, ids: total, lo: 1, hi: total }]);
      const loads = await sql(database, `select count(*) as n from ${name}_data._rl_loads where status = 'committed' and unit = 'events'`);
      expect(JSON.parse(loads.stdout)[0].n).toBeGreaterThanOrEqual(2);
      const runsOf = await sql(database, `select status from ${name}_data._rl_runs`);
      expect(JSON.parse(runsOf.stdout).map((row: { status: string }) => row.status)).toContain("succeeded");
    }
  });

  test("mid-run, `tables` answers and a second run of the same pipeline exits 75 without requesting; the first run is unaffected", async () => {
    const server = slowOrderedApi();
    const dir = tempDir("restload-locks-");
    const database = join(dir, "shared.duckdb");
    const alpha = pipelineFile(dir, "alpha", server.url);
    const first = spawnRun(alpha);
    const firstPages = () => server.requests.filter((request) => !request.url.searchParams.has("page"));
    // Wait for the first checkpoint: the table exists and has rows.
    for (;;) {
      if (first.proc.exitCode !== null) throw new Error(`the run ended early (exit ${first.proc.exitCode}):\n${await first.output}`);
      if (server.requests.length > 0) {
        const ran = await sql(
          database,
          "select count(*) as n from duckdb_tables() where schema_name = 'alpha_data' and table_name = 'events'",
        );
        expect({ code: ran.code, stderr: ran.code === 0 ? "" : ran.stderr }).toEqual({ code: 0, stderr: "" });
        if (JSON.parse(ran.stdout)[0].n === 1) break;
      }
      await Bun.sleep(200);
    }

    const tables = await restload(["tables", alpha, "--lock-timeout", "5"]);
    expect({ code: tables.code, stderr: tables.code === 0 ? "" : tables.stderr }).toEqual({ code: 0, stderr: "" });
    expect(tables.stdout).toContain("events");
    expect(first.proc.exitCode).toBeNull();

    const second = await restload(["run", alpha, "--lock-timeout", "1"]);
    expect({ code: second.code, stderr: second.code === 75 ? "" : second.stderr }).toEqual({ code: 75, stderr: "" });
    expect(first.proc.exitCode).toBeNull();

    const code = await first.proc.exited;
    if (code !== 0) throw new Error(`the first run failed (exit ${code}):\n${await first.output}`);
    // The refused run asked for nothing: the only first page (no page param) is the first run's.
    expect(firstPages()).toHaveLength(1);
    const stats = await sql(
      database,
      "select count(*) as n, count(distinct seq) as ids, min(seq) as lo, max(seq) as hi from alpha_data.events",
    );
    expect(JSON.parse(stats.stdout)).toEqual([{ n: total, ids: total, lo: 1, hi: total }]);
  });
});
