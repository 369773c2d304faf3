// The log of a run, sized for journald: starts, ends, checkpoints, schema changes, retries and
// errors, a progress line per active resource every --progress-interval, pages only at --log-level
// debug; JSON events all carrying time, level, event and run_id, run_finished last at every level,
// with the run's figures whatever becomes of stdout; on a terminal one live progress line redrawn a
// few times a second. Real processes with stderr a pipe, a real terminal's flag for the live line,
// local servers; the progress arithmetic and the log's own figures with a given clock and events.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { UnitProgress } from "../../src/cli/_run-progress.ts";
import { RunLog } from "../../src/cli/_run-log.ts";
import { RestloadError } from "../../src/errors.ts";
import { bunBin, mainTs, type Ran, repoRoot, restload, run } from "../helpers.ts";
import { json, startServer, type TestServer } from "../servers/server.ts";
import { linkedPage, project, testHead } from "./_helpers.ts";

const servers: TestServer[] = [];
const holders: ReturnType<typeof Bun.spawn>[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
  for (const holder of holders) holder.kill();
});

/** `restload run <pipeline> <args>` as a process of its own (stderr a pipe), outside journald unless `env` says so. */
function runProcess(pipeline: string, args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const { JOURNAL_STREAM: _, NO_COLOR: __, ...inherited } = process.env;
  return restload(["run", pipeline, ...args], { env: { ...inherited, ...env } });
}

const lines = (text: string) => text.split("\n").filter((line) => line !== "");
const events = (ran: Ran): Record<string, unknown>[] => lines(ran.stderr).map((line) => JSON.parse(line));

describe("a 3,000-parent fan-out off a terminal", () => {
  const parents = Array.from({ length: 3000 }, (_, i) => ({ id: i + 1 }));
  let failOnce = true;
  const server = startServer((request) => {
    const child = /^\/parents\/(\d+)\/children$/.exec(request.url.pathname);
    if (child === null) return linkedPage(request, parents, 100);
    // One child page answers 503 once (in the --log-level warn run): a retry, a warn line.
    if (child[1] === "7" && request.url.searchParams.get("flaky") === "1" && failOnce) {
      failOnce = false;
      return json({}, { status: 503 });
    }
    return json([{ id: Number(child[1]) * 10, n: 1 }]);
  });
  servers.push(server);
  const pipeline = (childParams = "") =>
    `${testHead(server.url)}paginator = "header_link"\nbackoff_factor = 0\n[[resources]]\nname = "parents"\nendpoint.path = "parents"\n` +
    `[[resources]]\nname = "children"\nendpoint.path = "parents/{resources.parents.id}/children"\n${childParams}`;

  test("writes a few lines at the default level, not one per page", async () => {
    const p = project(pipeline());
    const ran = await runProcess(p.pipeline, []);
    expect(ran.code).toBe(0);
    const written = [...lines(ran.stderr), ...lines(ran.stdout)];
    console.log(`3,000-parent fan-out, default level: ${lines(ran.stderr).length} log lines, ${written.length} lines in all`);
    expect(written.length).toBeLessThanOrEqual(150);
    expect(ran.stderr).not.toContain(" page ");
    expect(ran.stderr).toContain("unit parents: started");
    expect(ran.stderr).toContain("unit parents: committed 6000 rows");
    expect(ran.stderr).toContain("unit parents: schema: new table children");
    expect(lines(ran.stderr).at(-1)).toMatch(/^run [0-9a-f-]{36}: succeeded \(exit 0\), 6000 rows, 3030 requests, 0 retries in /);
    expect(ran.stderr).not.toContain("\x1b");
  });

  test("--log-format json: every line an event with time, level, event and run_id, run_finished last", async () => {
    const p = project(pipeline());
    const ran = await runProcess(p.pipeline, ["--log-format", "json", "--json"]);
    expect(ran.code).toBe(0);
    const summary = JSON.parse(ran.stdout);
    const all = events(ran);
    expect(all.length).toBeLessThanOrEqual(150);
    for (const event of all) {
      expect(Date.parse(String(event.time))).toBeGreaterThan(0);
      expect([typeof event.level, typeof event.event, event.run_id]).toEqual(["string", "string", summary.run_id]);
      // One spelling: snake_case keys only.
      for (const key of Object.keys(event)) expect(key).toMatch(/^[a-z_]+$/);
    }
    expect(all[0]).toMatchObject({ event: "run_started", level: "info", pipeline: "test", database: p.database, dataset: "data" });
    expect(all.find((event) => event.event === "unit_started")).toMatchObject({ unit: "parents", load_id: summary.units[0].load_id });
    expect(all.find((event) => event.event === "unit_committed")).toMatchObject({
      unit: "parents",
      rows: 6000,
      rows_by_table: { parents: 3000, children: 3000 },
      checkpoints: 1,
    });
    expect(all.at(-1)).toEqual({
      time: expect.any(String),
      level: "info",
      event: "run_finished",
      run_id: summary.run_id,
      status: "succeeded",
      exit_code: 0,
      rows: 6000,
      requests: 3030,
      retries: 0,
      duration_ms: summary.duration_ms,
    });
  });

  test("--log-level debug adds one event per page", async () => {
    const p = project(pipeline());
    const ran = await runProcess(p.pipeline, ["--log-format", "json", "--log-level", "debug"]);
    expect(ran.code).toBe(0);
    const pages = events(ran).filter((event) => event.event === "page");
    expect(pages.length).toBe(3030);
    expect(pages.every((event) => event.level === "debug")).toBe(true);
    expect(pages[0]).toMatchObject({ unit: "parents", resource: "parents", page: 1, records: 100 });
    expect(events(ran).at(-1)).toMatchObject({ event: "run_finished", status: "succeeded" });
  });

  test("--log-level warn writes no info lines but run_finished: under journald the retry's <4> line, then the <6> end", async () => {
    const p = project(pipeline('endpoint.params = { flaky = "1" }\n'));
    const ran = await runProcess(p.pipeline, ["--log-level", "warn"], { JOURNAL_STREAM: "8:12345" });
    expect(ran.code).toBe(0);
    expect(lines(ran.stderr)).toEqual([
      expect.stringMatching(/^<4>retry of children, attempt 1 failed \(.*503.*\); next in 0\.0 s$/),
      expect.stringMatching(/^<6>run [0-9a-f-]{36}: succeeded \(exit 0\), 6000 rows, 3031 requests, 1 retry in /),
    ]);
    expect(ran.stdout).toContain("unit parents: committed, 6000 rows (3031 requests, 1 retry");
  });
});

describe("progress lines", () => {
  const slowApi = (pages: number, delayMs: number) => {
    const rows = Array.from({ length: pages * 10 }, (_, i) => ({ id: i + 1 }));
    const server = startServer(async (request) => {
      await Bun.sleep(delayMs);
      return linkedPage(request, rows, 10);
    });
    servers.push(server);
    return project(`${testHead(server.url)}paginator = "header_link"\n[[resources]]\nname = "items"\n`);
  };

  test("one per active resource every --progress-interval, with its pages, records and rate", async () => {
    const p = slowApi(50, 60);
    const started = Date.now();
    const ran = await runProcess(p.pipeline, ["--progress-interval", "1s"]);
    const seconds = (Date.now() - started) / 1000;
    expect(ran.code).toBe(0);
    const progress = lines(ran.stderr).filter((line) => / pages, /.test(line));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    // At most one a resource per interval (one resource here).
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(seconds));
    for (const line of progress) expect(line).toMatch(/^unit items: items \d+ pages, \d+ records, \d+ records\/s$/);
    const counts = progress.map((line) => Number(/ (\d+) pages/.exec(line)![1]));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts.at(-1)).toBeLessThanOrEqual(50);
  });

  test("in JSON, progress events carry unit, resource, pages, records and records_per_second", async () => {
    const p = slowApi(40, 60);
    const ran = await runProcess(p.pipeline, ["--log-format", "json", "--progress-interval", "1"]);
    expect(ran.code).toBe(0);
    const progress = events(ran).filter((event) => event.event === "progress");
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]).toEqual({
      time: expect.any(String),
      level: "info",
      event: "progress",
      run_id: expect.any(String),
      unit: "items",
      resource: "items",
      pages: expect.any(Number),
      records: expect.any(Number),
      records_per_second: expect.any(Number),
    });
  });

  test("a resource that has finished gets no more lines; the others' rate is over the last interval", async () => {
    // One page of 40 parents at once, then their children one at a time, 100 ms each.
    const parents = Array.from({ length: 40 }, (_, i) => ({ id: i + 1 }));
    const server = startServer(async (request) => {
      const child = /^\/parents\/(\d+)\/children$/.exec(request.url.pathname);
      if (child === null) return json(parents);
      await Bun.sleep(100);
      return json([{ id: Number(child[1]), n: 1 }]);
    });
    servers.push(server);
    const p = project(
      `[pipeline]\nname = "test"\ndataset = "data"\nmax_concurrency = 1\n[client]\nbase_url = "${server.url}"\n` +
        `[[resources]]\nname = "parents"\nendpoint.path = "parents"\n` +
        `[[resources]]\nname = "children"\nendpoint.path = "parents/{resources.parents.id}/children"\n`,
    );
    const ran = await runProcess(p.pipeline, ["--log-format", "json", "--progress-interval", "1"]);
    expect(ran.code).toBe(0);
    const progress = events(ran).filter((event) => event.event === "progress");
    const of = (resource: string) => progress.filter((event) => event.resource === resource);
    console.log(`finished resource: ${of("parents").length} parents lines, ${of("children").length} children lines`);
    expect(of("parents").length).toBeLessThanOrEqual(1);
    expect(of("children").length).toBeGreaterThanOrEqual(2);
    const children = of("children");
    for (const [i, line] of children.entries()) {
      if (i === 0) continue;
      const previous = children[i - 1]!;
      const records = Number(line.records) - Number(previous.records);
      const seconds = (Date.parse(String(line.time)) - Date.parse(String(previous.time))) / 1000;
      // The records since the previous line over the time since it (a second, give or take the timer).
      expect(Number(line.records_per_second)).toBeCloseTo(records / Math.max(1, seconds), -1);
    }
  });

  test("a dry run logs its units' starts, progress and what they would load", async () => {
    const p = slowApi(40, 60);
    const ran = await runProcess(p.pipeline, ["--dry-run", "--log-format", "json", "--progress-interval", "1"]);
    expect(ran.code).toBe(0);
    const all = events(ran);
    expect(all.filter((event) => event.event !== "progress").map((event) => event.event)).toEqual([
      "run_started",
      "unit_started",
      "unit_committed",
      "run_finished",
    ]);
    expect(all.every((event) => event.run_id === "dry-run")).toBe(true);
    expect(all.find((event) => event.event === "unit_committed")).toMatchObject({ unit: "items", rows: 400, checkpoints: 0 });
    expect(all.at(-1)).toMatchObject({ event: "run_finished", status: "succeeded", rows: 400, requests: 40 });
    const progress = all.filter((event) => event.event === "progress");
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]).toMatchObject({ unit: "items", resource: "items" });

    const text = await runProcess(slowApi(3, 0).pipeline, ["--dry-run"]);
    expect(text.code).toBe(0);
    expect(lines(text.stderr)).toEqual([
      expect.stringMatching(/^dry run: pipeline test, database: .*test\.duckdb \(dataset data\), nothing is written$/),
      "unit items: started",
      "unit items: would load 30 rows",
      expect.stringMatching(/^dry run: succeeded \(exit 0\), 30 rows, 3 requests, 0 retries in /),
    ]);
  });

  test("the default interval (30 s) writes none in a short run; the interval takes 2m or plain seconds, and refuses less than 1 s and nonsense", async () => {
    const p = slowApi(3, 0);
    const ran = await runProcess(p.pipeline, []);
    expect(ran.code).toBe(0);
    expect(ran.stderr).not.toContain(" pages, ");
    expect((await p.run(["--progress-interval", "2m"])).code).toBe(0);
    expect((await p.run(["--progress-interval", "45"])).code).toBe(0);
    expect((await p.run(["--progress-interval", "1s"])).code).toBe(0);
    for (const below of ["0", "0.4", "500ms", "1ms"]) {
      const refused = await p.run(["--progress-interval", below]);
      expect(refused.code).toBe(64);
      expect(refused.stderr).toContain(`--progress-interval expects at least 1 s, got "${below}"`);
    }
    expect((await p.run(["--progress-interval", "soon"])).code).toBe(64);
    const level = await p.run(["--log-level", "verbose"]);
    expect(level.code).toBe(64);
    expect(level.stderr).toContain("--log-level expects error, warn, info, debug");
  });

  test("a progress line's rate is over the span since the previous line, the live line's since the unit started", () => {
    const progress = new UnitProgress();
    expect(progress.sinceLastLine(0)).toEqual([]);
    progress.start("issues", 10_000);
    progress.page("issues", 100);
    progress.page("comments", 50);
    expect(progress.sinceLastLine(12_000)).toEqual([
      { unit: "issues", resource: "issues", pages: 1, records: 100, records_per_second: 50 },
      { unit: "issues", resource: "comments", pages: 1, records: 50, records_per_second: 25 },
    ]);
    // issues is done; comments goes on.
    progress.page("comments", 30);
    expect(progress.sinceLastLine(16_000)).toEqual([
      { unit: "issues", resource: "comments", pages: 2, records: 80, records_per_second: 7.5 },
    ]);
    expect(progress.sinceLastLine(18_000)).toEqual([]);
    expect(progress.snapshot(20_000)).toEqual([
      { unit: "issues", resource: "issues", pages: 1, records: 100, records_per_second: 10 },
      { unit: "issues", resource: "comments", pages: 2, records: 80, records_per_second: 8 },
    ]);
    progress.end();
    expect(progress.sinceLastLine(21_000)).toEqual([]);
    expect(progress.snapshot(21_000)).toEqual([]);
    // The next unit's first line counts from its start.
    progress.start("users", 30_000);
    progress.page("users", 20);
    expect(progress.sinceLastLine(32_000)).toEqual([{ unit: "users", resource: "users", pages: 1, records: 20, records_per_second: 10 }]);
  });
});

describe("the end of the log", () => {
  test("at --log-level error a run that goes well writes run_finished alone", async () => {
    const server = startServer(() => json([{ id: 1 }, { id: 2 }]));
    servers.push(server);
    const p = project(`${testHead(server.url)}[[resources]]\nname = "items"\n`);
    const ran = await runProcess(p.pipeline, ["--log-format", "json", "--log-level", "error"]);
    expect(ran.code).toBe(0);
    expect(events(ran)).toEqual([
      {
        time: expect.any(String),
        level: "info",
        event: "run_finished",
        run_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        status: "succeeded",
        exit_code: 0,
        rows: 2,
        requests: 1,
        retries: 0,
        duration_ms: expect.any(Number),
      },
    ]);
  });

  test("stdout closed before the summary is written: the run's exit code, run_finished last with its figures", async () => {
    const server = startServer((request) =>
      linkedPage(
        request,
        Array.from({ length: 50 }, (_, i) => ({ id: i + 1 })),
        10,
      ),
    );
    servers.push(server);
    const p = project(`${testHead(server.url)}paginator = "header_link"\n[[resources]]\nname = "items"\n`);
    const { JOURNAL_STREAM: _, ...env } = process.env;
    // `true` leaves at once: by the time the summary is written nobody reads stdout (EPIPE).
    const script = '"$@" | true; exit "${PIPESTATUS[0]}"';
    for (const format of [["--json"], []]) {
      const ran = await run(["bash", "-c", script, "bash", bunBin, mainTs, "run", p.pipeline, "--log-format", "json", ...format], { env });
      expect(ran.stderr).not.toContain("EPIPE");
      expect(ran.code).toBe(0);
      const all = events(ran);
      expect(all.map((event) => event.event)).not.toContain("run_failed");
      expect(all.at(-1)).toMatchObject({ event: "run_finished", status: "succeeded", exit_code: 0, rows: 50, requests: 5 });
    }
    const runs = await p.query("select status, rows from data._rl_runs");
    expect(runs).toEqual([
      { status: "succeeded", rows: 50 },
      { status: "succeeded", rows: 50 },
    ]);
  });

  test("an error after the run started ends the log with what the run had done: rows committed, requests, retries", async () => {
    let stderr = "";
    const log = new RunLog(
      {
        stdout: async () => {},
        stderr: async (text) => void (stderr += text),
        readStdin: async () => "",
        readLine: async () => "",
        stdinIsTerminal: false,
        env: {},
      },
      { format: "json", level: "error", progressIntervalMs: 60_000, dryRun: false },
    );
    const fetch = log.countRequests((async () => new Response("[]")) as unknown as typeof globalThis.fetch);
    log.onEvent({ type: "run_started", run_id: "r1", pipeline: "test", database: "test.duckdb", dataset: "data" });
    log.onEvent({ type: "unit_started", unit: "issues", load_id: "l1" });
    for (let i = 0; i < 3; i++) await fetch("http://example.test/");
    log.onEvent({ type: "retry", resource: "issues", attempt: 1, reason: "503", delay_ms: 0 });
    log.onEvent({ type: "checkpoint", unit: "issues", checkpoint: 1, load_id: "l1", rows: 5, cursor: null });
    log.onEvent({ type: "unit_committed", unit: "issues", rows_by_table: { issues: 8, issues__labels: 4 }, checkpoints: 2 });
    log.onEvent({ type: "unit_started", unit: "users", load_id: "l2" });
    await fetch("http://example.test/");
    log.onEvent({ type: "checkpoint", unit: "users", checkpoint: 1, load_id: "l2", rows: 7, cursor: null });
    log.onEvent({ type: "checkpoint", unit: "users", checkpoint: 2, load_id: "l3", rows: 3, cursor: null });
    const code = await log.failed(new RestloadError("E_LOCKED", "Cannot open test.duckdb as another process holds it"));
    log.close();
    expect(code).toBe(75);
    const all = lines(stderr).map((line) => JSON.parse(line));
    expect(all.map((event) => event.event)).toEqual(["run_failed", "run_finished"]);
    expect(all[1]).toMatchObject({ run_id: "r1", status: "failed", exit_code: 75, rows: 22, requests: 4, retries: 1 });
    // Nothing after run_finished, not even a second end.
    expect(await log.failed(new Error("later"))).toBe(1);
    log.onEvent({ type: "unit_started", unit: "late", load_id: "l4" });
    expect(lines(stderr).length).toBe(2);
  });
});

describe("levels and journald", () => {
  test("under journald each line carries its level's priority: <6> info, <7> debug, <3> a failed unit", async () => {
    const server = startServer((request) => (request.url.pathname === "/gone" ? json({}, { status: 410 }) : json([{ id: 1 }])));
    servers.push(server);
    const p = project(`${testHead(server.url)}[[resources]]\nname = "items"\n[[resources]]\nname = "gone"\n`);
    const ran = await runProcess(p.pipeline, ["--log-level", "debug"], { JOURNAL_STREAM: "8:1" });
    expect(ran.code).toBe(1);
    const all = lines(ran.stderr);
    expect(all.every((line) => /^<[3467]>/.test(line))).toBe(true);
    expect(all).toContain("<7>unit items: items page 1, 1 record");
    expect(all).toContain("<6>unit items: committed 1 row");
    expect(all).toContain("<3>unit gone: failed, rolled back");
    expect(all.at(-1)).toMatch(/^<3>run \S+: failed \(exit 1\)/);
  });

  test("a run that cannot get the database ends its log with run_failed and run_finished, under its run id", async () => {
    const server = startServer(() => json([{ id: 1 }]));
    servers.push(server);
    const p = project(`${testHead(server.url)}[[resources]]\nname = "items"\n`);
    const holder = Bun.spawn([bunBin, join(repoRoot, "test", "fixtures", "hold-database.ts"), p.database, "20000"], { stdout: "pipe" });
    holders.push(holder);
    const { value } = await (holder.stdout as ReadableStream<Uint8Array>).getReader().read();
    expect(new TextDecoder().decode(value)).toContain("ready");
    const ran = await runProcess(p.pipeline, ["--log-format", "json", "--lock-timeout", "0"]);
    holder.kill();
    expect(ran.code).toBe(75);
    const all = events(ran);
    expect(all.map((event) => event.event)).toEqual(["run_started", "run_failed", "run_finished"]);
    const runId = all[0]!.run_id;
    expect(runId).toEqual(expect.any(String));
    expect(all[1]).toMatchObject({ level: "error", run_id: runId, code: "E_LOCKED", exit_code: 75 });
    expect(all[2]).toMatchObject({ level: "error", run_id: runId, status: "failed", exit_code: 75, rows: 0 });
  });
});

describe("on a terminal", () => {
  /** The CLI in this process with stderr a terminal; each stderr write kept apart. */
  async function runOnTerminal(args: string[], env: Record<string, string> = {}) {
    const { main } = await import("../../src/cli/main.ts");
    const writes: string[] = [];
    let stdout = "";
    const code = await main(args, {
      stdout: async (text) => void (stdout += text),
      stderr: async (text) => void writes.push(text),
      readStdin: async () => "",
      readLine: async () => "",
      stdinIsTerminal: true,
      stderrIsTerminal: true,
      env,
    });
    return { code, stdout, writes, stderr: writes.join("") };
  }

  test("progress is one live line redrawn at most about four times a second, its final state left above the next line", async () => {
    const rows = Array.from({ length: 4000 }, (_, i) => ({ id: i + 1 }));
    const server = startServer(async (request) => {
      await Bun.sleep(4);
      return linkedPage(request, rows, 10);
    });
    servers.push(server);
    const p = project(`${testHead(server.url)}paginator = "header_link"\n[[resources]]\nname = "items"\n`);
    const started = Date.now();
    const ran = await runOnTerminal(["run", p.pipeline]);
    const seconds = (Date.now() - started) / 1000;
    expect(ran.code).toBe(0);
    const redraws = ran.stderr.split("\r\x1b[K").length - 1;
    console.log(`terminal: 400 pages in ${seconds.toFixed(1)} s, ${redraws} redraws, ${ran.stderr.length} bytes on stderr`);
    expect(redraws).toBeGreaterThanOrEqual(2);
    // Four a second, plus the final state drawn once more before the commit line.
    expect(redraws).toBeLessThanOrEqual(Math.ceil(seconds * 4) + 2);
    // The first line after the pages (the schema change) follows the final state, left on its own line.
    expect(ran.stderr).toMatch(/\r\x1b\[Kunit items: items 400 pages, 4000 records, \d+ records\/s\nunit items: schema: new table items\n/);
    expect(ran.stderr).toContain("\nunit items: committed 4000 rows\n");
  });

  test("warnings are yellow unless NO_COLOR is set; pipes get no escape codes at all", async () => {
    let calls = 0;
    const server = startServer(() => (calls++ % 2 === 0 ? json({}, { status: 503 }) : json([{ id: 1 }])));
    servers.push(server);
    const p = project(`${testHead(server.url)}backoff_factor = 0\n[[resources]]\nname = "items"\n`);
    const colored = await runOnTerminal(["run", p.pipeline]);
    expect(colored.code).toBe(0);
    expect(colored.stderr).toContain("\x1b[33mretry of items");
    const plain = await runOnTerminal(["run", p.pipeline], { NO_COLOR: "1" });
    expect(plain.code).toBe(0);
    expect(plain.stderr).toContain("retry of items");
    expect(plain.stderr).not.toContain("\x1b[33m");
    const piped = await runProcess(p.pipeline, []);
    expect(piped.stderr).toContain("retry of items");
    expect(piped.stderr).not.toContain("\x1b");
  });
});
