// Exports are atomic for readers and survive kill -9: a reader globbing the table folders in a loop
// while exports run (and some are killed) never sees a duplicate, a mix of two sets or a partial
// file; after a kill the previous set is intact and the next export completes and cleans up.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunBin, mainTs, repoRoot, restload, runMain, tempDir } from "../helpers.ts";
import { mutableApi, project, seededRandom, testHead } from "../run/_helpers.ts";
import { json, startServer, serversStoppedAfterAll } from "../servers/server.ts";

const servers = serversStoppedAfterAll();

async function exportTo(pipeline: string, lake: string) {
  const ran = await runMain(["export", pipeline, "--to", lake, "--json"]);
  if (ran.code !== 0) throw new Error(`export failed (${ran.code}): ${ran.stderr}`);
  return JSON.parse(ran.stdout) as { tables: { table: string; status: string }[] };
}

/** The generation number a table folder points to. */
const generation = (lake: string, table: string) =>
  Number(
    readlinkSync(join(lake, "data", table))
      .split("/")
      .pop(),
  );
const parquetFiles = (folder: string) =>
  readdirSync(folder)
    .filter((name) => name.endsWith(".parquet"))
    .sort();
const storeEntries = (lake: string, table: string) => readdirSync(join(lake, "data", ".restload", "tables", table)).sort();
const tempFolders = (lake: string) => readdirSync(join(lake, "data", ".restload")).filter((name) => name.startsWith("tmp-"));

describe("export atomicity", () => {
  test("a reader globbing in a loop while exports run and are killed never sees a duplicate, a mix or a partial file", async () => {
    const random = seededRandom();
    console.log(`RESTLOAD_TEST_SEED=${random.seed}`);
    const state = { round: 1 };
    // items: 300 rows, every one changed each round (a merge: a new complete set); events: 50 new rows each round (an append).
    const server = startServer((request) =>
      request.url.pathname.endsWith("/events")
        ? json(Array.from({ length: 50 }, (_, index) => ({ id: (state.round - 1) * 50 + index + 1, version: state.round })))
        : json(Array.from({ length: 300 }, (_, index) => ({ id: index + 1, version: state.round, text: "x".repeat(200) }))),
    );
    servers.push(server);
    const p = project(
      `${testHead(server.url)}\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.paginator = "single_page"\n` +
        `[[resources]]\nname = "events"\nendpoint.path = "events"\nprimary_key = "id"\nwrite_disposition = "append"\nendpoint.paginator = "single_page"\n`,
    );
    const lake = tempDir("restload-lake-");
    expect((await p.run()).code).toBe(0);
    await exportTo(p.pipeline, lake);

    const stop = join(tempDir(), "stop");
    const reader = Bun.spawn([bunBin, join(repoRoot, "test", "fixtures", "glob-reader.ts"), join(lake, "data"), "items,events", stop], {
      cwd: repoRoot,
      stdout: "pipe",
      stderr: "inherit",
    });
    const output = new Response(reader.stdout).text();
    const rounds = 8;
    let killed = 0;
    for (state.round = 2; state.round <= rounds; state.round++) {
      expect((await p.run()).code).toBe(0);
      if (state.round % 2 === 0) {
        // An export killed at a random moment (often mid-COPY or mid-publish), then one that completes.
        // One that finished before its kill is retried sooner, so every even round has a killed export.
        for (let ceiling = 700; ceiling > 0; ceiling = Math.floor(ceiling / 2)) {
          const doomed = Bun.spawn([bunBin, mainTs, "export", p.pipeline, "--to", lake], {
            cwd: repoRoot,
            stdout: "ignore",
            stderr: "ignore",
          });
          await Bun.sleep(Math.floor(random.next() * ceiling));
          doomed.kill("SIGKILL");
          if ((await doomed.exited) !== 0) {
            killed++;
            break;
          }
        }
      }
      await exportTo(p.pipeline, lake);
    }
    writeFileSync(stop, "");
    await reader.exited;
    const reads = (await output)
      .trim()
      .split("\n")
      .map(
        (line) =>
          JSON.parse(line) as {
            table?: string;
            rows?: number;
            ids?: number;
            versions?: number;
            newest?: number;
            error?: string;
            folder?: boolean;
          },
      )
      .filter((read) => read.table !== undefined);

    const items = reads.filter((read) => read.table === "items" && read.error === undefined);
    const events = reads.filter((read) => read.table === "events" && read.error === undefined);
    expect(items.length).toBeGreaterThan(20);
    expect(events.length).toBeGreaterThan(20);
    // items: always one whole set of 300 rows of one round; never 600 (old and new files), never two versions.
    for (const read of items) expect(read).toMatchObject({ table: "items", rows: 300, ids: 300, versions: 1 });
    // events: whole rounds 1..n of 50 new rows each, no duplicates, none missing.
    for (const read of events) {
      expect(read.rows).toBe(read.ids);
      expect(read.rows).toBe(read.newest! * 50);
      expect(read.versions).toBe(read.newest);
    }
    expect(Math.max(...events.map((read) => read.rows!))).toBe(rounds * 50);
    // The only failure a reader may meet: names listed just before a rewrite was swapped in, gone
    // when DuckDB looks them up or opens them ("No such file", or "No files found" when it drops
    // them all); the table folder itself is always there.
    for (const read of reads.filter((read) => read.error !== undefined)) {
      expect(read.error).toMatch(/No such file or directory|No files found that match the pattern/);
      expect(read.folder).toBe(true);
    }
    expect(killed).toBe(rounds / 2);
    console.log(`${reads.length} reads, ${reads.filter((read) => read.error !== undefined).length} retried, ${killed} exports killed`);

    // The end state: the newest rows, events as one file per round (appends carried over), nothing stray.
    expect(
      await duckdbRows(`select count(*) as n, min(version) as v from read_parquet('${join(lake, "data", "items")}/*.parquet')`),
    ).toEqual([{ n: 300, v: rounds }]);
    expect(parquetFiles(join(lake, "data", "events"))).toHaveLength(rounds);
    expect(tempFolders(lake)).toEqual([]);
  }, 240_000);

  test("kill -9 after publishing one table: each table keeps a whole set, and the next export completes and cleans up", async () => {
    const { server, state } = mutableApi(servers, [{ id: 1, labels: [{ name: "a" }, { name: "b" }] }]);
    const p = project(
      `${testHead(server.url)}\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.paginator = "single_page"\n`,
    );
    const lake = tempDir("restload-lake-");
    expect((await p.run()).code).toBe(0);
    await exportTo(p.pipeline, lake);
    const manifestBefore = readFileSync(join(lake, "data", "_manifest.json"), "utf8");

    // Nothing published yet when killed after the COPY: the previous sets and manifest stand.
    state.records = [{ id: 1, labels: [{ name: "c" }] }];
    expect((await p.run()).code).toBe(0);
    const copied = await restload(["export", p.pipeline, "--to", lake], {
      env: { ...process.env, RESTLOAD_CRASH_AT: "export_copied:items" },
    });
    expect(copied.code).not.toBe(0);
    expect([generation(lake, "items"), generation(lake, "items__labels")]).toEqual([1, 1]);
    expect(readFileSync(join(lake, "data", "_manifest.json"), "utf8")).toBe(manifestBefore);
    expect(tempFolders(lake)).toHaveLength(1);

    // Killed after items' new set is swapped in, before the child table and the manifest.
    const published = await restload(["export", p.pipeline, "--to", lake], {
      env: { ...process.env, RESTLOAD_CRASH_AT: "export_published:items" },
    });
    expect(published.code).not.toBe(0);
    expect([generation(lake, "items"), generation(lake, "items__labels")]).toEqual([2, 1]);
    const labels = (table: string) => duckdbRows(`select name from read_parquet('${join(lake, "data", table)}/*.parquet') order by name`);
    expect(await labels("items__labels")).toEqual([{ name: "a" }, { name: "b" }]);
    expect(readFileSync(join(lake, "data", "_manifest.json"), "utf8")).toBe(manifestBefore);

    // The next export finishes the job: items is already current (its generation file says so), the child table is rewritten.
    const next = await exportTo(p.pipeline, lake);
    expect(next.tables.map((table) => [table.table, table.status])).toEqual([
      ["items", "unchanged"],
      ["items__labels", "rewritten"],
    ]);
    expect(await labels("items__labels")).toEqual([{ name: "c" }]);
    const manifest = JSON.parse(readFileSync(join(lake, "data", "_manifest.json"), "utf8"));
    expect([manifest.tables.items.generation, manifest.tables.items__labels.generation]).toEqual([2, 2]);
    // Left behind: nothing but the current generations, and those the manifest named when this
    // export began (kept for readers in flight, or reading that manifest, until the next export).
    expect(tempFolders(lake)).toEqual([]);
    expect(storeEntries(lake, "items")).toEqual(["000001", "000001.json", "000002", "000002.json"]);
    expect(storeEntries(lake, "items__labels")).toEqual(["000001", "000001.json", "000002", "000002.json"]);
    expect(readdirSync(join(lake, "data")).sort()).toEqual([".restload", "_manifest.json", "items", "items__labels"]);
    await exportTo(p.pipeline, lake);
    expect(storeEntries(lake, "items")).toEqual(["000002", "000002.json"]);
    expect(storeEntries(lake, "items__labels")).toEqual(["000002", "000002.json"]);
    expect(existsSync(join(lake, "data", ".restload", "lock"))).toBe(false);
    expect(statSync(join(lake, "data", "items")).isDirectory()).toBe(true);
  }, 120_000);

  test("kill -9 inside publishing a table (folder built, generation described): the old set stands, the next export completes", async () => {
    const { server, state } = mutableApi(servers, [{ id: 1, title: "first" }]);
    const p = project(
      `${testHead(server.url)}\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.paginator = "single_page"\n`,
    );
    const lake = tempDir("restload-lake-");
    expect((await p.run()).code).toBe(0);
    await exportTo(p.pipeline, lake);
    const titles = () => duckdbRows(`select title from read_parquet('${join(lake, "data", "items")}/*.parquet')`);
    for (const [index, point] of ["export_linked", "export_described"].entries()) {
      state.records = [{ id: 1, title: `${point} ${index}` }];
      expect((await p.run()).code).toBe(0);
      const before = await titles();
      const killed = await restload(["export", p.pipeline, "--to", lake], { env: { ...process.env, RESTLOAD_CRASH_AT: `${point}:items` } });
      expect(killed.code).not.toBe(0);
      expect(await titles()).toEqual(before);
      expect((await exportTo(p.pipeline, lake)).tables).toMatchObject([{ table: "items", status: "rewritten" }]);
      expect(await titles()).toEqual([{ title: `${point} ${index}` }]);
      expect(tempFolders(lake)).toEqual([]);
      expect(parquetFiles(join(lake, "data", "items"))).toHaveLength(1);
    }
  }, 120_000);
});

/** Rows of `sql` run by DuckDB (through `restload sql` on a scratch database). */
async function duckdbRows(sql: string): Promise<Record<string, unknown>[]> {
  const ran = await runMain(["sql", join(tempDir(), "scratch.duckdb"), sql, "--json"]);
  if (ran.code !== 0) throw new Error(`query failed: ${ran.stderr}`);
  return JSON.parse(ran.stdout);
}
