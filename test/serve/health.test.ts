// /healthz and /metrics against real runs, killed and interrupted ones included: health follows the
// newest finished run from the first request after it ended, never says ok before committed data
// was read nor on a file gone, damaged or held too long, takes a run going on for going on however
// long it is silent, and the series (counters that only grow, durations without float noise) stay
// while a run holds the file.
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { createApp } from "../../src/serve/app.ts";
import { maxUnreadMs } from "../../src/serve/health.ts";
import { foreignRunStaleMs, isLiveStatus, runProcessAlive, statusFilePath, type RunStatusDocument } from "../../src/state/status-file.ts";
import { bunBin } from "../helpers.ts";
import { json, startServer, type TestServer } from "../servers/server.ts";
import { linkedPage, project, type Project, randomKillDelays, spawnRun } from "../run/_helpers.ts";
import {
  copyFromBeforeExports,
  exportRecord,
  exportsTableOf,
  healthOf,
  holdDatabase,
  metricsOf,
  recordExports,
  startServe,
  stopServes,
  waitFor,
} from "./_serve.ts";

const servers: TestServer[] = [];
afterAll(async () => {
  await stopServes();
  for (const server of servers) await server.stop();
});

/** An API of `pages` pages of one record each, `delayMs` a page: a run of it lasts a while. */
function slowApi(pages: number, delayMs: number): TestServer {
  const rows = Array.from({ length: pages }, (_, id) => ({ id, title: `item ${id}` }));
  const server = startServer(async (request) => {
    await Bun.sleep(delayMs);
    return linkedPage(request, rows, 1);
  });
  servers.push(server);
  return server;
}

const pipelineOf = (url: string, name: string) =>
  project(
    `[pipeline]\nname = "${name}"\ndataset = "data"\n[client]\nbase_url = "${url}"\n[[resources]]\nname = "items"\nprimary_key = "id"\nwrite_disposition = "merge"\nendpoint.paginator = "header_link"\n`,
    name,
  );

/**
 * Resolves once the status file says the run of process `pid` is running and has fetched `pages`
 * pages (a killed run's file, left behind, names another process).
 */
function runningWithPages(p: Project, pid: number, pages: number) {
  const path = statusFilePath(p.database, "data");
  return waitFor(`process ${pid} running with ${pages} pages in ${path}`, async () => {
    if (!existsSync(path)) return undefined;
    try {
      const status = JSON.parse(readFileSync(path, "utf8"));
      return status.pid === pid && status.state === "running" && (status.resources.items?.pages ?? 0) >= pages ? true : undefined;
    } catch {
      return undefined;
    }
  });
}

/**
 * Waits (polling, up to 30 s on a busy machine) for /healthz to answer `status` with a body
 * containing `text` (or matching it); resolves with the milliseconds it took.
 */
async function healthBecomes(base: string, status: number, text: string | RegExp, timeoutMs = 30_000): Promise<number> {
  let last = "";
  const { ms } = await waitFor(
    `/healthz ${status} with ${String(text)}`,
    async () => {
      const health = await healthOf(base);
      last = `${health.status} ${health.text}`;
      const matches = typeof text === "string" ? health.text.includes(text) : text.test(health.text);
      return health.status === status && matches ? true : undefined;
    },
    { timeoutMs, last: () => last },
  );
  return ms;
}

/**
 * /healthz asked once, right after a run ended: a request reads what was committed since the last
 * read, so the first answer already follows that run. Resolves with the milliseconds it took.
 */
async function healthAtOnce(base: string, status: number, text: string | RegExp): Promise<number> {
  const start = performance.now();
  const health = await healthOf(base);
  expect(health.status).toBe(status);
  if (typeof text === "string") expect(health.text).toContain(text);
  else expect(health.text).toMatch(text);
  return performance.now() - start;
}

/** Samples /metrics in the background; every counter must only grow, every series once seen must stay. */
function watchMetrics(base: string) {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  let scrapes = 0;
  let stop = false;
  const done = (async () => {
    while (!stop) {
      const scraped = await metricsOf(base).catch((error: Error) => error);
      if (scraped instanceof Error) {
        // The test failed and its serve is gone: stop quietly, the failure is reported already.
        problems.push(`scrape failed: ${scraped.message}`);
        return;
      }
      const { samples } = scraped;
      scrapes++;
      for (const [series, before] of seen) {
        const now = samples.get(series);
        if (now === undefined) problems.push(`${series} disappeared`);
        else if (series.split("{")[0]!.endsWith("_total") && now < before) problems.push(`${series} went down from ${before} to ${now}`);
      }
      for (const [series, value] of samples) seen.set(series, value);
      await Bun.sleep(30);
    }
  })();
  return {
    problems,
    get scrapes() {
      return scrapes;
    },
    async stop() {
      stop = true;
      await done;
    },
  };
}

/** No sample and no duration of the API has more than three decimals (no 0.30000000000000004). */
async function expectNoFloatNoise(base: string) {
  const { text } = await metricsOf(base);
  for (const line of text.trim().split("\n")) {
    expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+\{(\w+="[^"]*",?)*\} -?\d+(\.\d{1,3})?)$/);
  }
  const [db] = (await (await fetch(`${base}api/pipelines`)).json()) as {
    pipelines: { runs: { duration_s: number | null }[]; loads_by_run: Record<string, { duration_s: number | null }[]> }[];
  }[];
  const durations = db!.pipelines.flatMap((p) => [
    ...p.runs.map((run) => run.duration_s),
    ...Object.values(p.loads_by_run).flatMap((loads) => loads.map((load) => load.duration_s)),
  ]);
  expect(durations.length).toBeGreaterThan(0);
  for (const seconds of durations) if (seconds !== null) expect(String(seconds)).toMatch(/^\d+(\.\d{1,3})?$/);
}

/** The app in this process, on a clock `clock.aheadMs` ahead of the real one: ages as they will be later. */
function appAhead(database: string) {
  const clock = { aheadMs: 0 };
  const app = createApp({ databases: [database], maxAgeSeconds: null, token: null, now: () => Date.now() + clock.aheadMs });
  const get = async (path: string) => {
    const response = await app.fetch(new Request(`http://127.0.0.1${path}`));
    return { status: response.status, text: await response.text() };
  };
  return { clock, get };
}

/** A pid no process has now: one that ran a moment ago. */
async function deadPid(): Promise<number> {
  const proc = Bun.spawn([bunBin, "-e", "0"], { stdout: "ignore", stderr: "ignore" });
  await proc.exited;
  return proc.pid;
}

describe("/healthz follows the newest finished run", () => {
  test("serve started before the runs: the first request after each run ends answers by it (SIGKILL at a crash point, SIGTERM, success); counters only grow", async () => {
    const api = slowApi(12, 40);
    const p = pipelineOf(api.url, "before");
    const base = await startServe(["--database", p.database]);
    expect(await healthOf(base)).toEqual({
      status: 503,
      text: `${p.database}: no committed data read yet: the database does not exist yet (no run so far)\n`,
    });
    const metrics = watchMetrics(base);

    const first = spawnRun(p.pipeline);
    expect(await first.proc.exited).toBe(0);
    const firstGreen = await healthAtOnce(base, 200, "ok");

    const killed = spawnRun(p.pipeline, { RESTLOAD_CRASH_AT: "before_commit:items" });
    await killed.proc.exited;
    expect(killed.proc.signalCode).toBe("SIGKILL");
    const killedRed = await healthAtOnce(base, 503, /before: the last run \(started .*\) ended without finishing \(killed\?\)/);

    const interrupted = spawnRun(p.pipeline);
    await runningWithPages(p, interrupted.proc.pid, 2);
    interrupted.proc.kill("SIGTERM");
    expect(await interrupted.proc.exited).toBe(143);
    const interruptedRed = await healthAtOnce(base, 503, "before: the last run interrupted: interrupted by SIGTERM");

    const last = spawnRun(p.pipeline);
    expect(await last.proc.exited).toBe(0);
    const green = await healthAtOnce(base, 200, "ok");
    console.log(
      `serve before the runs, the answer right after: 200 in ${ms(firstGreen)} after the first success, 503 in ${ms(killedRed)} after the SIGKILL, in ${ms(interruptedRed)} after the SIGTERM, 200 again in ${ms(green)} after the next success`,
    );

    await metrics.stop();
    expect(metrics.problems).toEqual([]);
    expect(metrics.scrapes).toBeGreaterThan(10);
    const { samples } = await metricsOf(base);
    const id = `database="${p.database}",dataset="data",pipeline="before"`;
    expect(samples.get(`restload_runs_total{${id},status="succeeded"}`)).toBe(2);
    // The killed run, marked interrupted by the next run, and the one stopped with SIGTERM.
    expect(samples.get(`restload_runs_total{${id},status="interrupted"}`)).toBe(2);
    expect(samples.get(`restload_runs_total{${id},status="failed"}`)).toBe(0);
    const [committed] = await p.query(
      "select sum(j.value::bigint)::bigint as rows from data._rl_loads l, json_each(l.rows_by_table) j where l.status = 'committed'",
    );
    const [work] = await p.query("select sum(requests)::bigint as requests, sum(retries)::bigint as retries from data._rl_loads");
    expect(samples.get(`restload_rows_total{${id}}`)).toBe(Number(committed!.rows));
    expect(samples.get(`restload_requests_total{${id}}`)).toBe(Number(work!.requests));
    expect(samples.get(`restload_retries_total{${id}}`)).toBe(Number(work!.retries));
    expect(samples.get(`restload_last_run_failed{${id}}`)).toBe(0);
    await expectNoFloatNoise(base);
  });

  test("serve started during a run: 503 after SIGTERM and after a kill at a random moment, 200 after the next success", async () => {
    const api = slowApi(40, 40);
    const p = pipelineOf(api.url, "during");
    const first = spawnRun(p.pipeline);
    expect(await first.proc.exited).toBe(0);

    const interrupted = spawnRun(p.pipeline);
    await runningWithPages(p, interrupted.proc.pid, 1);
    const base = await startServe(["--database", p.database]);
    // The run holds the file only at its start and while it commits: the first success is read during it.
    const during = await healthBecomes(base, 200, "ok");
    interrupted.proc.kill("SIGTERM");
    expect(await interrupted.proc.exited).toBe(143);
    const red = await healthAtOnce(base, 503, "during: the last run interrupted: interrupted by SIGTERM");

    // Killed before or after it recorded its start: either way the newest finished run is not a success.
    const kills = randomKillDelays([[200, 1200]], "test/serve/health.test.ts");
    let killedRed = 0;
    await kills.replayOnFailure(async () => {
      await kills.killRuns(p.pipeline);
      killedRed = await healthBecomes(base, 503, /during: the last run (interrupted|\(started .*\) ended without finishing)/);
    });

    const last = spawnRun(p.pipeline);
    expect(await last.proc.exited).toBe(0);
    const green = await healthAtOnce(base, 200, "ok");
    console.log(
      `serve started during a run: 200 ${ms(during)} after it started, 503 in ${ms(red)} after the SIGTERM and ${ms(killedRed)} after the kill, 200 in ${ms(green)} after the next success`,
    );
  });
});

describe("never ok without current committed data", () => {
  test("serve started on a file another process holds answers 503 with the reason, then 200 once it can read", async () => {
    const api = startServer(() => json([{ id: 1 }]));
    servers.push(api);
    const p = project(
      `[pipeline]\nname = "held"\ndataset = "data"\n[client]\nbase_url = "${api.url}"\n[[resources]]\nname = "items"\nendpoint.paginator = "single_page"\n`,
      "held",
    );
    expect((await p.run()).code).toBe(0);
    // Held until the test has seen what it expects while held, however slowly serve starts.
    const hold = await holdDatabase(p.database);
    const base = await startServe(["--database", p.database]);
    const health = await healthOf(base);
    expect(health.status).toBe(503);
    expect(health.text).toBe(
      `${p.database}: no committed data read yet: the file is held by process ${hold.pid} (a run writing); it is read again as soon as it is let go\n`,
    );
    const { text, samples } = await metricsOf(base);
    expect(text).not.toContain("restload_last_success_timestamp_seconds{");
    expect(samples.get(`restload_running{database="${p.database}"}`)).toBe(0);
    expect(await hold.release()).toBe(0);
    const green = await healthAtOnce(base, 200, "ok");
    console.log(`serve on a held file: 200 in ${ms(green)} once the holder let go`);
  });

  test("a file removed, or damaged, after a good read makes /healthz 503 with the reason; put back, 200 again", async () => {
    const api = startServer(() => json([{ id: 1 }]));
    servers.push(api);
    const p = project(
      `[pipeline]\nname = "gone"\ndataset = "data"\n[client]\nbase_url = "${api.url}"\n[[resources]]\nname = "items"\nendpoint.paginator = "single_page"\n`,
      "gone",
    );
    expect((await p.run()).code).toBe(0);
    const base = await startServe(["--database", p.database]);
    await healthAtOnce(base, 200, "ok");
    const saved = `${p.database}.saved`;
    copyFileSync(p.database, saved);

    writeFileSync(p.database, "not a database, but long enough to be looked at as one ".repeat(200));
    const damaged = await healthOf(base);
    expect(damaged.status).toBe(503);
    expect(damaged.text).toStartWith(`${p.database}: cannot read committed data: Cannot open`);

    rmSync(p.database);
    expect(await healthOf(base)).toEqual({
      status: 503,
      text: `${p.database}: cannot read committed data: the database file is gone (removed or moved since it was read)\n`,
    });
    // The page still shows what was read last, and says why it is not current.
    const [db] = (await (await fetch(`${base}api/pipelines`)).json()) as { read_failure: string; pipelines: unknown[] }[];
    expect(db!.read_failure).toBe("missing");
    expect(db!.pipelines).toHaveLength(1);

    copyFileSync(saved, p.database);
    await healthAtOnce(base, 200, "ok");
  });

  test("a file held for longer than the bound makes /healthz 503 naming the holder; until then the last read is served", async () => {
    const api = startServer(() => json([{ id: 1 }]));
    servers.push(api);
    const p = project(
      `[pipeline]\nname = "long"\ndataset = "data"\n[client]\nbase_url = "${api.url}"\n[[resources]]\nname = "items"\nendpoint.paginator = "single_page"\n`,
      "long",
    );
    expect((await p.run()).code).toBe(0);
    const { clock, get } = appAhead(p.database);
    expect(await get("/healthz")).toEqual({ status: 200, text: "ok\n" });
    const hold = await holdDatabase(p.database);
    try {
      // Held for now: the last read stands, and says when it was made and why it is not newer.
      const held = await get("/healthz");
      expect(held.status).toBe(200);
      clock.aheadMs = maxUnreadMs - 60_000;
      expect((await get("/healthz")).status).toBe(200);
      clock.aheadMs = maxUnreadMs + 60_000;
      const minutes = Math.floor((maxUnreadMs + 60_000) / 60_000);
      const stale = await get("/healthz");
      expect(stale.status).toBe(503);
      expect(stale.text).toStartWith(
        `${p.database}: cannot read committed data for ${minutes} min: the file is held by process ${hold.pid} (a run writing)`,
      );
    } finally {
      expect(await hold.release()).toBe(0);
    }
    expect(await get("/healthz")).toEqual({ status: 200, text: "ok\n" });
  });
});

describe("a run going on is judged by its process", () => {
  test("a run of this machine whose status file has not been rewritten for minutes (a long step) is running, not dead", async () => {
    const api = slowApi(60, 40);
    const p = pipelineOf(api.url, "silent");
    expect(await spawnRun(p.pipeline).proc.exited).toBe(0);
    const run = spawnRun(p.pipeline);
    await runningWithPages(p, run.proc.pid, 2);
    const { clock, get } = appAhead(p.database);
    // Read while it runs; then it stops writing anything (as in a long synchronous step) and time moves on.
    expect(await get("/healthz")).toEqual({ status: 200, text: "ok\n" });
    run.proc.kill("SIGSTOP");
    try {
      clock.aheadMs = 5 * 60_000;
      expect(await get("/healthz")).toEqual({ status: 200, text: "ok\n" });
      expect((await get("/metrics")).text).toContain(`restload_running{database="${p.database}"} 1`);
      const overview = (await get("/?part=main")).text;
      expect(overview).toContain('class="badge running">running</span> since');
      expect(overview).not.toContain("unfinished");
    } finally {
      run.proc.kill("SIGCONT");
    }
    expect(await run.proc.exited).toBe(0);
  });

  test("on this machine the pid decides; a run of another machine is going on while its status file was rewritten within the bound", async () => {
    const now = Date.now();
    const hourAgo = now - 3_600_000;
    expect(runProcessAlive({ pid: process.pid, host: hostname(), seenAt: hourAgo }, now)).toBe(true);
    expect(runProcessAlive({ pid: await deadPid(), host: hostname(), seenAt: now }, now)).toBe(false);
    const elsewhere = { pid: process.pid, host: `not-${hostname()}` };
    expect(runProcessAlive({ ...elsewhere, seenAt: now - foreignRunStaleMs + 5000 }, now)).toBe(true);
    expect(runProcessAlive({ ...elsewhere, seenAt: now - foreignRunStaleMs - 5000 }, now)).toBe(false);
    // An older document names no host: judged as another machine's.
    const document: RunStatusDocument = {
      run_id: "r",
      pipeline: "p",
      dataset: "data",
      pid: await deadPid(),
      started_at: new Date(now - 60_000).toISOString(),
      updated_at: new Date(now - 10_000).toISOString(),
      state: "running",
      unit: null,
      units: {},
      checkpoints: {},
      resources: {},
    };
    expect(isLiveStatus(document, now)).toBe(true);
    expect(isLiveStatus({ ...document, host: hostname() }, now)).toBe(false);
    expect(isLiveStatus({ ...document, host: hostname(), pid: process.pid, updated_at: new Date(hourAgo).toISOString() }, now)).toBe(true);
    expect(isLiveStatus({ ...document, host: hostname(), pid: process.pid, state: "succeeded" }, now)).toBe(false);
  });
});

describe("a failed last export is said, not judged by", () => {
  test("after a good run /healthz stays 200 with a note naming the failed export; a newer ok export clears it; a database from before exports says nothing", async () => {
    const api = startServer(() => json([{ id: 1 }]));
    servers.push(api);
    const p = project(
      `[pipeline]\nname = "exported"\ndataset = "data"\n[client]\nbase_url = "${api.url}"\n[[resources]]\nname = "items"\nendpoint.paginator = "single_page"\n`,
      "exported",
    );
    expect((await p.run()).code).toBe(0);
    const older = await copyFromBeforeExports(p.database);
    const base = await startServe(["--database", p.database]);
    expect(await healthOf(base)).toEqual({ status: 200, text: "ok\n" });

    const failedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    await recordExports(p.database, [
      exportRecord(failedAt, { status: "failed", files_written: 0, rows_written: 0, error: "Cannot publish table items: disk full" }),
    ]);
    // The first request after the export's row landed reads it.
    const note = `note: exported: the last export failed at ${failedAt.toISOString().replace(/\.\d{3}Z$/, "Z")}: Cannot publish table items: disk full`;
    expect(await healthOf(base)).toEqual({ status: 200, text: `ok\n${note}\n` });
    await recordExports(p.database, [exportRecord(new Date(failedAt.getTime() + 1000))]);
    expect(await healthOf(base)).toEqual({ status: 200, text: "ok\n" });

    // Read as it is: no `_rl_exports`, no note, no error, and the file is left unmigrated.
    const olderBase = await startServe(["--database", older]);
    expect(await healthOf(olderBase)).toEqual({ status: 200, text: "ok\n" });
    expect(await exportsTableOf(older)).toEqual({ exists: false, version: 5 });
  });

  test("after a failed run /healthz is 503 by the run, with the failed export as a note", async () => {
    const api = startServer(() => json({ message: "gone for good" }, { status: 410 }));
    servers.push(api);
    const p = project(
      `[pipeline]\nname = "broken"\ndataset = "data"\n[client]\nbase_url = "${api.url}"\n[[resources]]\nname = "items"\nendpoint.paginator = "single_page"\n`,
      "broken",
    );
    expect((await p.run()).code).toBe(1);
    await recordExports(p.database, [exportRecord(new Date(), { status: "failed", error: "Cannot read table items" })]);
    const base = await startServe(["--database", p.database]);
    const health = await healthOf(base);
    expect(health.status).toBe(503);
    const lines = health.text.trim().split("\n");
    expect(lines[0]).toStartWith("broken: the last run failed: E_HTTP");
    expect(lines[1]).toMatch(/^note: broken: the last export failed at \S+Z: Cannot read table items$/);
    expect(lines).toHaveLength(2);
  });
});

describe("/metrics while the file is held", () => {
  test("every series stays, from the last good read, while another process holds the file; /healthz stays as it was", async () => {
    const api = startServer(() => json([{ id: 1 }, { id: 2 }]));
    servers.push(api);
    const p = project(
      `[pipeline]\nname = "kept"\ndataset = "data"\n[client]\nbase_url = "${api.url}"\n[[resources]]\nname = "items"\nendpoint.paginator = "single_page"\n`,
      "kept",
    );
    expect((await p.run()).code).toBe(0);
    const base = await startServe(["--database", p.database]);
    await healthBecomes(base, 200, "ok");
    const before = await metricsOf(base);
    const id = `database="${p.database}",dataset="data",pipeline="kept"`;
    const lastSuccess = before.samples.get(`restload_last_success_timestamp_seconds{${id}}`);
    expect(lastSuccess).toBeGreaterThan(1_700_000_000);
    const readAt = before.samples.get(`restload_read_timestamp_seconds{database="${p.database}"}`);

    const hold = await holdDatabase(p.database);
    let scrapes = 0;
    let sawHeld = false;
    try {
      // Held until enough scrapes saw the file held (the holder wrote to it, so serve tries to read it).
      await waitFor(
        "ten scrapes while held, one of them saying so",
        async () => {
          const during = await metricsOf(base);
          scrapes++;
          expect([...during.samples.keys()].sort()).toEqual([...before.samples.keys()].sort());
          expect(during.samples.get(`restload_last_success_timestamp_seconds{${id}}`)).toBe(lastSuccess!);
          // The same read: the file could not be read meanwhile.
          expect(during.samples.get(`restload_read_timestamp_seconds{database="${p.database}"}`)).toBe(readAt!);
          expect((await healthOf(base)).status).toBe(200);
          const [db] = (await (await fetch(`${base}api/pipelines`)).json()) as { note: string | null }[];
          if (db!.note?.includes(`held by process ${hold.pid}`)) sawHeld = true;
          return scrapes >= 10 && sawHeld ? true : undefined;
        },
        { last: () => `${scrapes} scrapes, held seen: ${sawHeld}` },
      );
    } finally {
      expect(await hold.release()).toBe(0);
    }
    // Let go: the next request reads again (the holder wrote to the file).
    const after = await metricsOf(base);
    expect(after.samples.get(`restload_read_timestamp_seconds{database="${p.database}"}`)!).toBeGreaterThan(readAt!);
  });

  test("during a run committing a checkpoint per page, no series disappears and the last success only moves forward", async () => {
    // Two events for a first run, then sixty more, two a page, each page a checkpoint.
    let total = 2;
    const api = startServer(async (request) => {
      await Bun.sleep(30);
      const since = Number(request.url.searchParams.get("since") ?? 0);
      const events = Array.from({ length: total }, (_, seq) => ({ seq, payload: "x".repeat(200) }));
      return linkedPage(
        request,
        events.filter((event) => event.seq >= since),
        2,
      );
    });
    servers.push(api);
    const p = project(
      `[pipeline]\nname = "ticking"\ndataset = "data"\ncheckpoint_interval = 0.01\n[client]\nbase_url = "${api.url}"\n[[resources]]\nname = "events"\nwrite_disposition = "append"\nendpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "seq", initial_value = 0, start_param = "since", row_order = "asc" }\n`,
      "ticking",
    );
    expect((await p.run()).code).toBe(0);
    total = 62;
    const base = await startServe(["--database", p.database]);
    await healthBecomes(base, 200, "ok");
    const metrics = watchMetrics(base);
    const id = `database="${p.database}",dataset="data",pipeline="ticking"`;
    const successes: number[] = [];
    const run = spawnRun(p.pipeline);
    let exited = false;
    void run.proc.exited.then(() => {
      exited = true;
    });
    while (!exited) {
      const { samples } = await metricsOf(base);
      const value = samples.get(`restload_last_success_timestamp_seconds{${id}}`);
      expect(value).toBeGreaterThan(1_700_000_000);
      successes.push(value!);
      await Bun.sleep(20);
    }
    expect(await run.proc.exited).toBe(0);
    await metrics.stop();
    expect(metrics.problems).toEqual([]);
    expect(successes.length).toBeGreaterThan(10);
    expect(successes).toEqual([...successes].sort((a, b) => a - b));
    const [loads] = await p.query("select count(*)::int as n from data._rl_loads");
    expect(Number(loads!.n)).toBeGreaterThan(4);
  });
});

function ms(value: number): string {
  return `${(value / 1000).toFixed(2)} s`;
}
