// The status page as a real process: pages, JSON API, /healthz, /metrics, the token, secrets,
// living beside runs; and in a real headless Chromium.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { bunBin, mainTs, repoRoot, restload } from "../helpers.ts";
import { json, startServer, type TestServer } from "../servers/server.ts";
import { project } from "../run/_helpers.ts";
import { launchChromium } from "./_chromium.ts";
import { copyFromBeforeExports, copyWithExports, exportRecord, metricsOf, startServe, stopServes } from "./_serve.ts";

const canary = "c4n4ry+/=&s3rve";
const servers: TestServer[] = [];
afterAll(async () => {
  await stopServes();
  for (const server of servers) await server.stop();
});

const serve = (args: string[], env: Record<string, string> = {}) => startServe(args, env);

let healthy: ReturnType<typeof project>;
let broken: ReturnType<typeof project>;
let api: TestServer;

beforeAll(async () => {
  api = startServer((request) => {
    if (request.url.pathname.startsWith("/broken")) return json({ message: "gone for good" }, { status: 410 });
    return json([
      { id: 1, title: "one", tags: ["a"] },
      { id: 2, title: "two", tags: [] },
    ]);
  });
  servers.push(api);
  healthy = project(
    `[pipeline]\nname = "healthy"\ndataset = "data"\n[client]\nbase_url = "${api.url}"\nauth = { token = { secret = "canary" } }\n[[resources]]\nname = "items"\nendpoint.paginator = "single_page"\n`,
    "healthy",
  );
  broken = project(
    `[pipeline]\nname = "broken"\ndataset = "data"\n[client]\nbase_url = "${api.url}"\nauth = { token = { secret = "canary" } }\n[[resources]]\nname = "broken"\nendpoint.paginator = "single_page"\n`,
    "broken",
  );
  expect((await healthy.run([], { RESTLOAD_SECRET_CANARY: canary })).code).toBe(0);
  expect((await broken.run([], { RESTLOAD_SECRET_CANARY: canary })).code).toBe(1);
});

describe("restload serve", () => {
  test("overview, API, health and metrics reflect the runs; no secret anywhere", async () => {
    const base = await serve(["--database", healthy.database, "--database", broken.database]);
    const overview = await (await fetch(base)).text();
    expect(overview).toContain("healthy");
    expect(overview).toContain("broken");
    expect(overview).toContain("gone for good");
    const pipelines = (await (await fetch(`${base}api/pipelines`)).json()) as {
      pipelines: { pipeline: string; runs: { status: string }[] }[];
    }[];
    expect(pipelines.map((db) => db.pipelines[0]!.runs[0]!.status)).toEqual(["succeeded", "failed"]);
    const health = await fetch(`${base}healthz`);
    expect(health.status).toBe(503);
    expect(await health.text()).toContain(
      'broken: the last run failed: E_HTTP: Cannot fetch page 1 of resource "broken" as the server returned 410',
    );
    const metrics = await (await fetch(`${base}metrics`)).text();
    for (const line of metrics.trim().split("\n")) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+\{(\w+="[^"]*",?)*\} -?[\d.e+]+)$/);
    expect(metrics).toContain(`restload_last_run_failed{database="${broken.database}",dataset="data",pipeline="broken"} 1`);
    expect(metrics).toContain(`restload_table_rows{database="${healthy.database}",dataset="data",pipeline="healthy",table="items"} 2`);
    // One series per database and dataset: no duplicate samples when two files hold one pipeline.
    const series = metrics
      .split("\n")
      .filter((line) => !line.startsWith("#") && line !== "")
      .map((line) => line.replace(/ [^ ]+$/, ""));
    expect(new Set(series).size).toBe(series.length);
    const runId = pipelines[0]!.pipelines[0]!.runs[0] as unknown as { run_id: string };
    const detail = await (await fetch(`${base}runs/${runId.run_id}`)).text();
    expect(detail).toContain("unit items");
    for (const text of [overview, JSON.stringify(pipelines), metrics, detail]) {
      expect(text).not.toContain(canary);
      expect(text).not.toContain(encodeURIComponent(canary));
    }
  });

  test("/healthz is 200 after good runs and 503 when the last success is older than --max-age", async () => {
    const good = await serve(["--database", healthy.database]);
    expect((await fetch(`${good}healthz`)).status).toBe(200);
    const strict = await serve(["--database", healthy.database, "--max-age", "0"]);
    const response = await fetch(`${strict}healthz`);
    expect(response.status).toBe(503);
    expect(await response.text()).toContain("healthy: the last successful unit is");
  });

  test("a run killed with -9 shows as unfinished, not running, and /healthz says so", async () => {
    const killed = project(
      `[pipeline]\nname = "killed"\ndataset = "data"\n[client]\nbase_url = "${api.url}"\nauth = { token = "x" }\n[[resources]]\nname = "items"\nendpoint.paginator = "single_page"\n`,
      "killed",
    );
    expect((await killed.run()).code).toBe(0);
    const proc = Bun.spawn([bunBin, mainTs, "run", killed.pipeline], {
      cwd: repoRoot,
      env: { ...process.env, RESTLOAD_CRASH_AT: "before_commit:items" },
      stdout: "ignore",
      stderr: "ignore",
    });
    await proc.exited;
    expect(proc.signalCode).toBe("SIGKILL");
    const base = await serve(["--database", killed.database]);
    const health = await fetch(`${base}healthz`);
    expect(health.status).toBe(503);
    expect(await health.text()).toContain("killed: the last run (started");
    const metrics = await (await fetch(`${base}metrics`)).text();
    expect(metrics).toContain(`restload_running{database="${killed.database}"} 0`);
    // One status for the run everywhere: the card, the recent runs' table and its detail.
    const overview = await (await fetch(`${base}?part=main`)).text();
    expect(overview).toContain('<h2>killed <span class="badge unfinished">unfinished</span></h2>');
    const table = /<table class="runs">.*?<\/table>/s.exec(overview)?.[0] ?? "";
    expect(table.match(/class="badge \w+"/g)).toEqual(['class="badge unfinished"', 'class="badge succeeded"']);
    expect(overview).not.toContain("badge running");
    const [newest] = await killed.query("select run_id from data._rl_runs order by started_at desc limit 1");
    const detail = await (await fetch(`${base}runs/${newest!.run_id}?part=main`)).text();
    expect(detail).toContain('class="badge unfinished">unfinished</span></h1>');
  });

  test("--max-age takes seconds or a duration; without a value or with another it is a usage error", async () => {
    const missing = await restload(["serve", "--database", healthy.database, "--port", "0", "--max-age"]);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain("--max-age <duration>` value is missing");
    const wrong = await restload(["serve", "--database", healthy.database, "--port", "0", "--max-age", "2 fortnights"]);
    expect(wrong.code).toBe(64);
    expect(wrong.stderr).toContain('--max-age expects seconds or a duration such as 30s, 2m or 1h30m, got "2 fortnights"');
    expect(wrong.stderr).toContain("hint: Pass e.g. --max-age 90m, 2h or 1d.");
  });

  test("a non-loopback bind without a token refuses to start; with one, requests without it get 401", async () => {
    const refused = await restload(["serve", "--database", healthy.database, "--host", "0.0.0.0", "--port", "0"]);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain("Refusing to serve on 0.0.0.0 without a token");
    const base = await serve(["--database", healthy.database, "--host", "0.0.0.0"], { RESTLOAD_SERVE_TOKEN: "t0ken" });
    const local = base.replace("0.0.0.0", "127.0.0.1");
    expect((await fetch(local)).status).toBe(401);
    expect((await fetch(`${local}?token=t0ken`)).status).toBe(200);
    // What the page's script fetches to update itself: the content alone, under the same token.
    expect((await fetch(`${local}?part=main`)).status).toBe(401);
    const content = await (await fetch(`${local}?token=t0ken&part=main`)).text();
    expect(content).toStartWith("<h1>restload</h1>");
    expect(content).not.toContain("<html");
    expect((await fetch(`${local}healthz`, { headers: { authorization: "Bearer t0ken" } })).status).toBe(200);
  });

  test("beside a timer-like loop of runs: live progress while running, new runs appear, and page loads all along fail no run", async () => {
    const slow = startServer(async (request) => {
      await Bun.sleep(40);
      const page = Number(request.url.searchParams.get("page") ?? 0);
      return json([{ id: page }], { headers: page < 9 ? { link: `<${request.url.origin}/items?page=${page + 1}>; rel="next"` } : {} });
    });
    servers.push(slow);
    const loop = project(
      `[pipeline]\nname = "loop"\ndataset = "data"\n[client]\nbase_url = "${slow.url}"\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\n`,
      "loop",
    );
    const base = await serve(["--database", loop.database]);
    const codes: number[] = [];
    let loads = 0;
    let sawRunning = false;
    const seenRecords = new Set<number>();
    let runsDone = false;
    const runs = (async () => {
      for (let i = 0; i < 4; i++) {
        const proc = Bun.spawn([bunBin, mainTs, "run", loop.pipeline], { cwd: repoRoot, stdout: "ignore", stderr: "ignore" });
        codes.push(await proc.exited);
      }
      runsDone = true;
    })();
    // Pages are loaded all along the runs (at least 50), however slowly the runs start on a busy machine.
    const pages = (async () => {
      while (loads < 50 || !runsDone) {
        const html = await (await fetch(base)).text();
        loads++;
        if (html.includes('class="badge running">running</span> since')) {
          sawRunning = true;
          const records = /live-records">(\d+)</.exec(html)?.[1];
          if (records) seenRecords.add(Number(records));
        }
        await Bun.sleep(15);
      }
    })();
    await Promise.all([runs, pages]);
    expect(codes).toEqual([0, 0, 0, 0]);
    expect(loads).toBeGreaterThanOrEqual(50);
    expect(sawRunning).toBe(true);
    expect(seenRecords.size).toBeGreaterThan(1);
    // Asked right after the last run ended: the answer is read from its commit, not from an older read.
    const after = (await (await fetch(`${base}api/pipelines`)).json()) as { pipelines: { runs: unknown[] }[] }[];
    expect(after[0]!.pipelines[0]!.runs).toHaveLength(4);
  });
});

describe("the last export", () => {
  test("/api/pipelines gives each pipeline its dataset's last export (null without one) and /metrics its series, only where there was one", async () => {
    const [run] = await healthy.query("select run_id from data._rl_runs order by started_at desc limit 1");
    const finished = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const ok = exportRecord(finished, {
      export_id: "e-ok",
      run_id: String(run!.run_id),
      started_at: new Date(finished.getTime() - 2250),
      tables_written: 2,
      tables_unchanged: 1,
      files_written: 2,
      rows_written: 2,
      bytes_written: 4321,
    });
    const okDb = await copyWithExports(healthy.database, [ok]);
    const failedAt = new Date(finished.getTime() + 30_000);
    const failedDb = await copyWithExports(broken.database, [
      exportRecord(failedAt, {
        export_id: "e-failed",
        status: "failed",
        rows_written: 0,
        bytes_written: 0,
        error: "Cannot write: disk full",
      }),
    ]);
    const olderDb = await copyFromBeforeExports(healthy.database);
    const databases = [okDb, failedDb, olderDb, healthy.database];
    const base = await serve(databases.flatMap((database) => ["--database", database]));

    const snapshots = (await (await fetch(`${base}api/pipelines`)).json()) as {
      database: string;
      pipelines: { last_export: Record<string, unknown> | null }[];
    }[];
    const lastExport = new Map(snapshots.map((db) => [db.database, db.pipelines[0]!.last_export]));
    expect(lastExport.get(okDb)).toEqual({
      export_id: "e-ok",
      run_id: String(run!.run_id),
      started_at: new Date(finished.getTime() - 2250).toISOString().replace(/\.\d{3}Z$/, "Z"),
      finished_at: finished.toISOString().replace(/\.\d{3}Z$/, "Z"),
      duration_s: 2.25,
      status: "ok",
      dir: "/srv/lake/data",
      tables_written: 2,
      tables_unchanged: 1,
      files_written: 2,
      rows_written: 2,
      bytes_written: 4321,
      error: null,
    });
    expect(lastExport.get(failedDb)).toMatchObject({
      export_id: "e-failed",
      run_id: null,
      status: "failed",
      error: "Cannot write: disk full",
    });
    // A database from before exports were recorded, and one never exported: null, not absent.
    expect(lastExport.get(olderDb)).toBeNull();
    expect(lastExport.get(healthy.database)).toBeNull();

    const { text, samples } = await metricsOf(base);
    for (const line of text.trim().split("\n")) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+\{(\w+="[^"]*",?)*\} -?[\d.e+]+)$/);
    for (const name of ["timestamp_seconds", "success", "duration_seconds", "rows", "bytes"])
      expect(text).toContain(`# TYPE restload_last_export_${name} gauge`);
    const id = (database: string) => `database="${database}",dataset="data"`;
    expect(samples.get(`restload_last_export_timestamp_seconds{${id(okDb)}}`)).toBe(finished.getTime() / 1000);
    expect(samples.get(`restload_last_export_success{${id(okDb)}}`)).toBe(1);
    expect(samples.get(`restload_last_export_duration_seconds{${id(okDb)}}`)).toBe(2.25);
    expect(samples.get(`restload_last_export_rows{${id(okDb)}}`)).toBe(2);
    expect(samples.get(`restload_last_export_bytes{${id(okDb)}}`)).toBe(4321);
    expect(samples.get(`restload_last_export_timestamp_seconds{${id(failedDb)}}`)).toBe(failedAt.getTime() / 1000);
    expect(samples.get(`restload_last_export_success{${id(failedDb)}}`)).toBe(0);
    // No export, no series.
    const exportSeries = [...samples.keys()].filter((series) => series.startsWith("restload_last_export_"));
    expect(exportSeries).toHaveLength(10);
    for (const database of [olderDb, healthy.database]) expect(exportSeries.some((series) => series.includes(`"${database}"`))).toBe(false);
  });
});

describe("pipelines sharing one database file", () => {
  test("two running at once both show live, in /api/pipelines and restload_running", async () => {
    const slow = startServer(async (request) => {
      await Bun.sleep(40);
      const page = Number(request.url.searchParams.get("page") ?? 0);
      return json([{ id: page }], { headers: page < 40 ? { link: `<${request.url.origin}/items?page=${page + 1}>; rel="next"` } : {} });
    });
    servers.push(slow);
    const first = project(
      `[pipeline]\nname = "first"\ndataset = "first"\n[client]\nbase_url = "${slow.url}"\n[[resources]]\nname = "items"\n`,
      "first",
    );
    const database = first.database;
    const second = project(
      `[pipeline]\nname = "second"\ndataset = "second"\ndatabase = "${database}"\n[client]\nbase_url = "${slow.url}"\n[[resources]]\nname = "items"\n`,
      "second",
    );
    const base = await serve(["--database", database]);
    const runs = [first, second].map((p) =>
      Bun.spawn([bunBin, mainTs, "run", p.pipeline], { cwd: repoRoot, stdout: "ignore", stderr: "ignore" }),
    );
    let bothLive = false;
    let running = "";
    for (let i = 0; i < 150 && !bothLive; i++) {
      const [db] = (await (await fetch(`${base}api/pipelines`)).json()) as { live: { pipeline: string }[] }[];
      const live = (db?.live ?? []).map((run) => run.pipeline).sort();
      if (live.join() === "first,second") {
        bothLive = true;
        running = (await (await fetch(`${base}metrics`)).text()).split("\n").find((line) => line.startsWith("restload_running{")) ?? "";
      } else await Bun.sleep(20);
    }
    expect(bothLive).toBe(true);
    expect(running).toMatch(/ (1|2)$/);
    expect(await Promise.all(runs.map((proc) => proc.exited))).toEqual([0, 0]);
  });
});

describe("checkpoints", () => {
  test("a run's detail lists each checkpoint of a unit as a load of its own", async () => {
    const windowed = startServer((request) => {
      const since = Number(request.url.searchParams.get("since"));
      const until = Number(request.url.searchParams.get("until"));
      return json(Array.from({ length: 30 }, (_, seq) => ({ seq })).filter(({ seq }) => seq >= since && seq < until));
    });
    servers.push(windowed);
    const p = project(
      `[pipeline]\nname = "windowed"\ndataset = "data"\ncheckpoint_interval = 0.001\n[client]\nbase_url = "${windowed.url}"\n[[resources]]\nname = "items"\nendpoint.paginator = "single_page"\nendpoint.incremental = { cursor_path = "seq", initial_value = 0, end_value = 30, window = 10, start_param = "since", end_param = "until" }\n`,
      "windowed",
    );
    expect((await p.run()).code).toBe(0);
    const [run] = await p.query("select run_id from data._rl_runs");
    const base = await serve(["--database", p.database]);
    const detail = (await (await fetch(`${base}api/runs/${run!.run_id}?db=${encodeURIComponent(p.database)}`)).json()) as {
      loads: { unit: string; checkpoint: number; final: boolean; status: string }[];
    };
    // One load per window (three windows), then the unit's final commit.
    const loads = detail.loads.map(({ unit, checkpoint, final, status }) => ({ unit, checkpoint, final, status }));
    expect(loads.length).toBeGreaterThanOrEqual(3);
    expect(loads).toEqual(loads.map((_, i) => ({ unit: "items", checkpoint: i + 1, final: i === loads.length - 1, status: "committed" })));
    const html = await (await fetch(`${base}runs/${run!.run_id}?db=${encodeURIComponent(p.database)}`)).text();
    expect(html).toContain("unit items · checkpoint 2");
  });
});

describe("in a real browser", () => {
  let browser: Browser;
  // The first launch on a machine may unpack Chromium from npm (2-8 s): more than bun's hook default.
  beforeAll(async () => {
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  test("the overview lists a healthy and a failed pipeline with the failure; a click opens the run's detail", async () => {
    const base = await serve(["--database", healthy.database, "--database", broken.database]);
    const page = await browser.newPage();
    await page.goto(base);
    const cards = page.locator("section.pipeline");
    expect(await cards.count()).toBe(2);
    expect(await page.locator('section[data-pipeline="healthy"] .badge').first().textContent()).toBe("succeeded");
    expect(await page.locator('section[data-pipeline="broken"] .badge').first().textContent()).toBe("failed");
    expect(await page.locator('section[data-pipeline="broken"] .last-error').textContent()).toContain("gone for good");
    const artifacts = join(repoRoot, "test-artifacts");
    if (!existsSync(artifacts)) mkdirSync(artifacts);
    await page.screenshot({ path: join(artifacts, "overview.png"), fullPage: true });
    await page.locator('section[data-pipeline="broken"] table.runs a').first().click();
    await page.waitForURL(/\/runs\//);
    expect(await page.locator("h1").textContent()).toContain("run of broken");
    expect(await page.locator("section.unit .badge").textContent()).toBe("failed");
    await page.screenshot({ path: join(artifacts, "run.png"), fullPage: true });
    expect(await page.content()).not.toContain(canary);
  }, 60_000);
});
