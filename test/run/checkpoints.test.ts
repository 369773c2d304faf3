// Checkpoints: a unit with a safe point commits in several transactions (checkpoint_interval), so a
// run killed late keeps most of its work and a rerun resumes from the stored cursor with no loss and
// no duplicates. Real processes, killed with SIGKILL at counted requests, at crash points and at
// random moments.
import { describe, expect, test } from "bun:test";
import { runMain } from "../helpers.ts";
import { type LoggedRequest, json, startServer, serversStoppedAfterAll } from "../servers/server.ts";
import { checkpointHead, linkedPage, type Project, project, randomKillDelays, type SpawnedRun, spawnRun } from "./_helpers.ts";

const servers = serversStoppedAfterAll();

const day = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.000Z$/, "Z");

/** Waits for a run that must die by SIGKILL, and says what it printed when it did not. */
async function expectKilled(run: SpawnedRun): Promise<void> {
  await run.proc.exited;
  if (run.proc.signalCode !== "SIGKILL")
    throw new Error(`the run was not killed (exit ${run.proc.exitCode}, signal ${run.proc.signalCode}):\n${await run.output}`);
}

async function tableExists(p: Project, table: string): Promise<boolean> {
  const [row] = await p.query(`select count(*) as n from duckdb_tables() where schema_name = 'data' and table_name = '${table}'`);
  return Number(row!.n) === 1;
}

/** The stored cursor of root resource `resource`, or undefined when none committed. */
async function storedCursor(p: Project, resource: string): Promise<string | undefined> {
  if (!(await tableExists(p, "_rl_state"))) return undefined;
  const rows = await p.query(`select last_value from data._rl_state where resource = '${resource}' and parent_key = ''`);
  expect(rows.length).toBeLessThanOrEqual(1);
  return rows[0] === undefined ? undefined : String(rows[0].last_value);
}

/** Committed loads of `unit` so far, in checkpoint order, with the rows each says it wrote. */
async function committedLoads(p: Project, unit: string): Promise<{ loadId: string; checkpoint: number; rows: Record<string, number> }[]> {
  if (!(await tableExists(p, "_rl_loads"))) return [];
  const rows = await p.query(
    `select load_id, checkpoint, rows_by_table::varchar as rows from data._rl_loads where unit = '${unit}' and status = 'committed' order by finished_at, checkpoint`,
  );
  return rows.map((row) => ({
    loadId: String(row.load_id),
    checkpoint: Number(row.checkpoint),
    rows: row.rows === null ? {} : JSON.parse(String(row.rows)),
  }));
}

/** Every committed load's rows_by_table agrees with the rows of `table` carrying its load id, and no row lacks a committed load. */
async function expectLoadsMatchRows(p: Project, unit: string, table: string): Promise<void> {
  const loads = await committedLoads(p, unit);
  const counted = new Map<string, number>();
  if (await tableExists(p, table))
    for (const row of await p.query(`select _rl_load_id as id, count(*) as n from data.${table} group by 1`))
      counted.set(String(row.id), Number(row.n));
  for (const load of loads)
    expect({ load: load.loadId, rows: counted.get(load.loadId) ?? 0 }).toEqual({ load: load.loadId, rows: load.rows[table] ?? 0 });
  const known = new Set(loads.map((load) => load.loadId));
  expect([...counted.keys()].filter((id) => !known.has(id))).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// An append resource with an ordered numeric cursor (no primary key: a duplicate would show).

interface Event {
  seq: number;
  body: string;
}
const eventsOf = (count: number): Event[] => Array.from({ length: count }, (_, i) => ({ seq: i + 1, body: `event ${i + 1}` }));

/**
 * An API of `source` (ascending `seq`) honouring `since` (closed), pages of `perPage` by a Link
 * header, each answered after `delayMs`; `onRequest` sees every request with its number (1, 2, …).
 */
function orderedApi(source: Event[], perPage: number, delayMs: number, onRequest?: (count: number, request: LoggedRequest) => void) {
  let count = 0;
  const server = startServer(async (request) => {
    onRequest?.(++count, request);
    if (delayMs > 0) await Bun.sleep(delayMs);
    const since = Number(request.url.searchParams.get("since") ?? 0);
    const rows = source.filter((row) => row.seq >= since);
    return linkedPage(request, rows, perPage);
  });
  servers.push(server);
  return server;
}

const orderedResource = `[[resources]]\nname = "events"\nwrite_disposition = "append"\nendpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "seq", initial_value = 0, start_param = "since", row_order = "asc" }\n`;

/**
 * What a killed ordered run left is a committed prefix: rows seq 1..M each once, the stored cursor
 * exactly M (nothing beyond it), and the loads agree with the rows. Returns M. With `perPage`
 * (only the first run of a project: a resumed run's pages start at the stored cursor), M is at a page
 * boundary of that run.
 */
async function expectOrderedPrefix(p: Project, perPage?: number): Promise<number> {
  const cursor = await storedCursor(p, "events");
  if (!(await tableExists(p, "events"))) {
    expect(cursor === undefined || cursor === "0").toBe(true);
    return 0;
  }
  const [stats] = await p.query(
    "select count(*) as n, count(distinct seq) as ids, coalesce(min(seq), 0) as lo, coalesce(max(seq), 0) as hi from data.events",
  );
  const n = Number(stats!.n);
  if (n === 0) {
    expect(cursor === undefined || cursor === "0").toBe(true);
    return 0;
  }
  expect({ ids: Number(stats!.ids), lo: Number(stats!.lo), hi: Number(stats!.hi) }).toEqual({ ids: n, lo: 1, hi: n });
  if (perPage !== undefined) expect(n % perPage).toBe(0);
  expect(cursor).toBe(String(n));
  await expectLoadsMatchRows(p, "events", "events");
  return n;
}

async function expectOrderedEqualsSource(p: Project, source: Event[]): Promise<void> {
  const [stats] = await p.query("select count(*) as n, count(distinct seq) as ids from data.events");
  expect({ n: Number(stats!.n), ids: Number(stats!.ids) }).toEqual({ n: source.length, ids: source.length });
  expect(await p.query("select seq, body from data.events order by seq")).toEqual(source.map(({ seq, body }) => ({ seq, body })));
  expect(await storedCursor(p, "events")).toBe(String(source.length));
}

// ---------------------------------------------------------------------------------------------
// A windowed resource (window = "7d"): an API honouring [since, until), pages of 5, records in an
// order unrelated to the cursor inside a window.

interface Change {
  id: number;
  updated_at: string;
}

/** Every request's window, as asked. */
interface Asked {
  since: string | null;
  until: string | null;
  page: boolean;
}

function windowedApi(records: Change[], delayMs: number, onRequest?: (asked: Asked, windowsSoFar: number) => void) {
  const asked: Asked[] = [];
  let windows = 0;
  const server = startServer(async (request) => {
    const params = request.url.searchParams;
    const entry = { since: params.get("since"), until: params.get("until"), page: params.has("page") };
    asked.push(entry);
    if (!entry.page) windows++;
    onRequest?.(entry, windows);
    if (delayMs > 0) await Bun.sleep(delayMs);
    const since = entry.since === null ? -Infinity : Date.parse(entry.since);
    const until = entry.until === null ? Infinity : Date.parse(entry.until);
    const inRange = records
      .filter((record) => Date.parse(record.updated_at) >= since && Date.parse(record.updated_at) < until)
      .sort((a, b) => ((a.id * 7919) % 101) - ((b.id * 7919) % 101) || a.id - b.id);
    return linkedPage(request, inRange, 5);
  });
  servers.push(server);
  return { server, asked, reset: () => void (asked.length = 0) };
}

const windowedResource = (name: string, initial: string, endValue?: string, path = name) =>
  `[[resources]]\nname = "${name}"\nwrite_disposition = "append"\nendpoint.path = "${path}"\nendpoint.paginator = "header_link"\nendpoint.incremental = { cursor_path = "updated_at", initial_value = "${initial}", ${endValue === undefined ? "" : `end_value = "${endValue}", `}start_param = "since", end_param = "until", window = "7d" }\n`;

/** Every request is bounded and at most 7 days wide. */
function expectBoundedWindows(asked: readonly Asked[]): void {
  for (const entry of asked) {
    expect(entry.since).not.toBeNull();
    expect(entry.until).not.toBeNull();
    const span = Date.parse(entry.until!) - Date.parse(entry.since!);
    expect(span).toBeGreaterThan(0);
    expect(span).toBeLessThanOrEqual(7 * day);
  }
}

/**
 * What a killed windowed run left: exactly the records before the stored cursor, each once, and the
 * loads agree with the rows. Returns the cursor (undefined when nothing committed).
 */
async function expectWindowedPrefix(p: Project, table: string, records: Change[]): Promise<string | undefined> {
  const cursor = await storedCursor(p, table);
  const rows = (await tableExists(p, table)) ? await p.query(`select id from data.${table} order by id`) : [];
  const expected = cursor === undefined ? [] : records.filter((record) => Date.parse(record.updated_at) < Date.parse(cursor));
  expect(rows).toEqual(expected.map(({ id }) => ({ id })).sort((a, b) => a.id - b.id));
  await expectLoadsMatchRows(p, table, table);
  return cursor;
}

async function expectWindowedEqualsSource(p: Project, table: string, records: Change[], end: number): Promise<void> {
  const expected = records.filter((record) => Date.parse(record.updated_at) < end).map(({ id }) => ({ id }));
  expect(await p.query(`select count(*) as n, count(distinct id) as ids from data.${table}`)).toEqual([
    { n: expected.length, ids: expected.length },
  ]);
  expect(await p.query(`select id from data.${table} order by id`)).toEqual(expected.sort((a, b) => a.id - b.id));
}

// ---------------------------------------------------------------------------------------------

describe("an ordered load killed at 70 % keeps its checkpoints", () => {
  test("kill -9 after 140 of 200 pages: most rows are already committed in several checkpoints; the rerun asks for at most half the pages and ends with every record exactly once", async () => {
    const source = eventsOf(2000);
    let victim: SpawnedRun | undefined;
    const server = orderedApi(source, 10, 15, (count) => {
      if (count === 140) victim?.proc.kill("SIGKILL");
    });
    const p = project(`${checkpointHead(server.url, "0.2")}${orderedResource}`);
    victim = spawnRun(p.pipeline);
    await expectKilled(victim);
    expect(server.requests.length).toBeGreaterThanOrEqual(140);

    // (a) A large share of what was fetched is already in the table, a prefix at the stored cursor.
    const committed = await expectOrderedPrefix(p, 10);
    expect(committed).toBeGreaterThanOrEqual(1000);
    expect(committed).toBeLessThanOrEqual(1400);
    const loads = await committedLoads(p, "events");
    expect(loads.length).toBeGreaterThanOrEqual(2);
    // Each checkpoint is a load of its own, numbered 1, 2, … within the unit.
    expect(loads.map((load) => load.checkpoint)).toEqual(loads.map((_, i) => i + 1));
    expect(new Set(loads.map((load) => load.loadId)).size).toBe(loads.length);
    for (const load of loads) expect(load.rows.events).toBeGreaterThan(0);

    // (b) The rerun starts at the stored cursor: at most half the pages.
    server.requests.length = 0;
    const rerun = await p.run();
    expect(rerun.code).toBe(0);
    expect(server.requests[0]!.url.searchParams.get("since")).toBe(String(committed));
    expect(server.requests.length).toBeLessThanOrEqual(100);
    expect(server.requests.length).toBeGreaterThanOrEqual(Math.ceil((2000 - committed) / 10));

    // (c) Every record exactly once.
    await expectOrderedEqualsSource(p, source);
    await expectLoadsMatchRows(p, "events", "events");
  });
});

describe("a window backfill killed half way keeps its finished windows", () => {
  test("kill -9 at window 53 of ~105: the rerun asks only for windows from the stored cursor, each bounded to 7 days; every record once; a third run asks once or twice", async () => {
    const now = Date.now();
    const initial = Math.floor(now / day) * day - 730 * day;
    const records: Change[] = [];
    for (let i = 0; i < 1000; i++) records.push({ id: i + 1, updated_at: iso(initial + Math.floor((i * (730 * day - 3_600_000)) / 1000)) });
    // Some exactly on window bounds: they belong to the window they start.
    for (let k = 1; k <= 60; k += 7) records.push({ id: 1000 + k, updated_at: iso(initial + k * 7 * day) });
    let victim: SpawnedRun | undefined;
    const api = windowedApi(records, 10, (entry, windows) => {
      if (!entry.page && windows === 53) victim?.proc.kill("SIGKILL");
    });
    const p = project(`${checkpointHead(api.server.url, "0.2")}${windowedResource("changes", iso(initial))}`);
    victim = spawnRun(p.pipeline);
    await expectKilled(victim);
    expectBoundedWindows(api.asked);
    const firstWindows = api.asked.filter((entry) => !entry.page);
    expect(firstWindows.length).toBe(53);

    // The committed windows: the stored cursor is the end of one of the windows finished before the kill.
    const cursor = await expectWindowedPrefix(p, "changes", records);
    expect(cursor).toBeDefined();
    expect(firstWindows.slice(0, 52).map((entry) => entry.until)).toContain(cursor!);
    expect(await committedLoads(p, "changes")).not.toEqual([]);

    api.reset();
    const rerun = await p.run();
    expect(rerun.code).toBe(0);
    expectBoundedWindows(api.asked);
    // No window before the stored cursor is asked for again; the first one starts there.
    const rerunWindows = api.asked.filter((entry) => !entry.page);
    expect(rerunWindows[0]!.since).toBe(cursor!);
    for (const entry of api.asked) expect(Date.parse(entry.since!)).toBeGreaterThanOrEqual(Date.parse(cursor!));
    for (let i = 1; i < rerunWindows.length; i++) expect(rerunWindows[i]!.since).toBe(rerunWindows[i - 1]!.until);
    const end = await storedCursor(p, "changes");
    expect(end).toBe(rerunWindows.at(-1)!.until!);
    await expectWindowedEqualsSource(p, "changes", records, Date.parse(end!));
    expect(records.filter((record) => Date.parse(record.updated_at) >= Date.parse(end!))).toEqual([]);

    // Nothing new: one window (two when the second boundary passed meanwhile).
    while (Date.now() < Date.parse(end!) + 1500) await Bun.sleep(50);
    api.reset();
    expect((await p.run()).code).toBe(0);
    expect(api.asked.length).toBeGreaterThanOrEqual(1);
    expect(api.asked.length).toBeLessThanOrEqual(2);
    expect(api.asked[0]!.since).toBe(end!);
    await expectWindowedEqualsSource(p, "changes", records, Infinity);
  });
});

describe("crash points between checkpoints", () => {
  // Ten 7-day windows of 14 records (three pages each, 15 ms a page): every window takes longer than
  // the 10 ms interval, so every window's end is a checkpoint — checkpoint k commits windows 1..k.
  const start = Date.UTC(2024, 0, 1);
  const windowed: Change[] = Array.from({ length: 140 }, (_, i) => ({ id: i + 1, updated_at: iso(start + i * 12 * 3_600_000) }));
  const windowEnd = (k: number) => iso(start + k * 7 * day);
  const cases: { point: string; committedWindows: number }[] = [
    { point: "before_checkpoint_2", committedWindows: 1 },
    { point: "after_checkpoint_2", committedWindows: 2 },
    { point: "window_3", committedWindows: 2 },
  ];
  for (const { point, committedWindows } of cases) {
    test(`windowed, killed at ${point}: exactly windows 1..${committedWindows} are committed, the cursor at their end; a rerun starts there and equals the source`, async () => {
      const api = windowedApi(windowed, 15);
      const p = project(`${checkpointHead(api.server.url, "0.01")}${windowedResource("events", iso(start), windowEnd(10))}`);
      const crashed = spawnRun(p.pipeline, { RESTLOAD_CRASH_AT: `${point}:events` });
      await expectKilled(crashed);
      const cursor = await expectWindowedPrefix(p, "events", windowed);
      expect(cursor).toBe(windowEnd(committedWindows));
      expect((await committedLoads(p, "events")).map((load) => load.checkpoint)).toEqual(
        Array.from({ length: committedWindows }, (_, i) => i + 1),
      );
      if (point === "window_3") {
        // Killed once the first page of window 3 was staged: window 3 was asked for, window 4 not.
        expect(api.asked.filter((entry) => !entry.page).map((entry) => entry.since)).toEqual([windowEnd(0), windowEnd(1), windowEnd(2)]);
      }

      api.reset();
      expect((await p.run()).code).toBe(0);
      expectBoundedWindows(api.asked);
      expect(api.asked.filter((entry) => !entry.page).map((entry) => entry.since)).toEqual(
        Array.from({ length: 10 - committedWindows }, (_, i) => windowEnd(committedWindows + i)),
      );
      await expectWindowedEqualsSource(p, "events", windowed, Date.parse(windowEnd(10)));
      expect(await storedCursor(p, "events")).toBe(windowEnd(10));
    });
  }

  const ordered = eventsOf(2000);
  const orderedCases: { point: string; loads: (n: number) => boolean; describe: string }[] = [
    { point: "page_120", loads: (n) => n >= 1, describe: "at least one checkpoint, at most 120 pages" },
    { point: "before_checkpoint_2", loads: (n) => n === 1, describe: "checkpoint 1 only" },
    { point: "after_checkpoint_2", loads: (n) => n === 2, describe: "checkpoints 1 and 2" },
  ];
  for (const { point, loads, describe: committed } of orderedCases) {
    test(`ordered cursor, killed at ${point}: ${committed} committed, rows a page-aligned prefix ending at the stored cursor; a rerun resumes there and equals the source`, async () => {
      const server = orderedApi(ordered, 10, 5);
      const p = project(`${checkpointHead(server.url, "0.1")}${orderedResource}`);
      const crashed = spawnRun(p.pipeline, { RESTLOAD_CRASH_AT: `${point}:events` });
      await expectKilled(crashed);
      const prefix = await expectOrderedPrefix(p, 10);
      expect(prefix).toBeGreaterThan(0);
      if (point === "page_120") expect(prefix).toBeLessThanOrEqual(1200);
      const committedLoadCount = (await committedLoads(p, "events")).length;
      expect({ point, loads: committedLoadCount, ok: loads(committedLoadCount) }).toEqual({ point, loads: committedLoadCount, ok: true });

      server.requests.length = 0;
      expect((await p.run()).code).toBe(0);
      expect(server.requests[0]!.url.searchParams.get("since")).toBe(String(prefix));
      await expectOrderedEqualsSource(p, ordered);
      await expectLoadsMatchRows(p, "events", "events");
    });
  }
});

describe("random kills with checkpoints on", () => {
  test("an ordered and a windowed unit killed at three random moments, then rerun: after every kill each table is a committed prefix, and at the end both equal the source", async () => {
    const source = eventsOf(1500);
    const server = orderedApi(source, 10, 10);
    const start = Date.UTC(2023, 0, 2);
    const changes: Change[] = Array.from({ length: 520 }, (_, i) => ({
      id: i + 1,
      updated_at: iso(start + Math.floor((i * (364 * day)) / 520)),
    }));
    const windows = windowedApi(changes, 10);
    // Two units: the windowed one on a server of its own (an absolute path bypasses base_url).
    const windowedPart = windowedResource("changes", iso(start), iso(start + 364 * day), `${windows.server.url}changes`);
    const p = project(`${checkpointHead(server.url, "0.1")}${orderedResource}${windowedPart}`);
    const kills = randomKillDelays(
      [
        [500, 1500],
        [500, 1500],
        [500, 1500],
      ],
      "test/run/checkpoints.test.ts",
    );
    await kills.replayOnFailure(async () => {
      await kills.killRuns(p.pipeline, async () => {
        await expectOrderedPrefix(p);
        await expectWindowedPrefix(p, "changes", changes);
      });
      const rerun = await p.run();
      expect(rerun.code).toBe(0);
      await expectOrderedEqualsSource(p, source);
      await expectWindowedEqualsSource(p, "changes", changes, start + 364 * day);
      expectBoundedWindows(windows.asked);
    });
  });
});

describe("checkpoint_interval in the plan", () => {
  const server = startServer(() => json([]));
  servers.push(server);
  const withInterval = (line: string) =>
    `[pipeline]\nname = "test"\ndataset = "data"\n${line}[client]\nbase_url = "${server.url}"\n[[resources]]\nname = "events"\n`;

  for (const [line, seconds] of [
    ["", 60],
    ["checkpoint_interval = 0\n", 0],
    ["checkpoint_interval = 0.2\n", 0.2],
    ['checkpoint_interval = "30s"\n', 30],
    ['checkpoint_interval = "5m"\n', 300],
  ] as const) {
    test(`check --json resolves ${line.trim() || "no checkpoint_interval"} to ${seconds} seconds`, async () => {
      const checked = await runMain(["check", project(withInterval(line)).pipeline, "--json"]);
      expect(checked.code).toBe(0);
      expect(JSON.parse(checked.stdout).checkpoint_interval).toBe(seconds);
    });
  }

  test('checkpoint_interval = "abc" is a configuration error at pipeline.checkpoint_interval (exit 78)', async () => {
    const checked = await runMain(["check", project(withInterval('checkpoint_interval = "abc"\n')).pipeline, "--json"]);
    expect(checked.code).toBe(78);
    const problems = JSON.parse(checked.stdout).error.problems as { path: string; message: string }[];
    expect(problems.map((problem) => problem.path)).toEqual(["pipeline.checkpoint_interval"]);
    // A known key with a bad value: the problem names the value, it is not an unknown key.
    expect(problems[0]!.message).toContain('"abc"');
    expect(problems[0]!.message).not.toContain("unknown key");
    const text = await runMain(["check", project(withInterval('checkpoint_interval = "abc"\n')).pipeline]);
    expect(text.code).toBe(78);
    expect(text.stderr).toContain("pipeline.checkpoint_interval");
  });
});
