// The parts checkpoints and the lock windows are made of, one by one: the cursor snapshot, the
// safe-point decision, the load-id holder, the status file's progress, the `_rl_loads` migration,
// the guard against a second run of one pipeline, abandoned runs, and per-run stage folders.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { Redactor } from "../../src/config/redact.ts";
import { openDatabase } from "../../src/db/open.ts";
import { Session } from "../../src/db/session.ts";
import { IncrementalCursor } from "../../src/extract/incremental.ts";
import { removeDeadStageDirs, runStageDir } from "../../src/load/stage-dirs.ts";
import { trackStatus } from "../../src/run/events.ts";
import { LoadIds } from "../../src/run/ids.ts";
import { runLockPath } from "../../src/run/run-lock.ts";
import { StatusFile, statusFilePath } from "../../src/state/status-file.ts";
import { ensureSystemTables } from "../../src/state/system-tables.ts";
import { bunBin, repoRoot, runMain, tempDir } from "../helpers.ts";
import { json, startServer, type TestServer } from "../servers/server.ts";
import { incremental, project, testHead } from "./_helpers.ts";

const servers: TestServer[] = [];
const sleepers: ReturnType<typeof Bun.spawn>[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
  for (const sleeper of sleepers) sleeper.kill();
});

/** A live process that is not this one (its pid stands for another run). */
function liveProcess(): number {
  const sleeper = Bun.spawn(["sleep", "60"]);
  sleepers.push(sleeper);
  return sleeper.pid;
}

/** A pid that no process has now. */
async function deadPid(): Promise<number> {
  const gone = Bun.spawn(["true"]);
  await gone.exited;
  return gone.pid;
}

describe("IncrementalCursor.snapshot", () => {
  test("an ordered chain's snapshot is the greatest value so far with the keys of its records", () => {
    const cursor = new IncrementalCursor(incremental({}), "events", ["id"], undefined);
    expect(cursor.snapshot()).toBeUndefined();
    cursor.filter([
      { id: 1, seq: 1 },
      { id: 2, seq: 2 },
      { id: 3, seq: 2 },
    ]);
    expect(cursor.snapshot()).toEqual({ lastValue: 2, boundaryKeys: ["[2]", "[3]"] });
    cursor.filter([{ id: 4, seq: 3 }]);
    expect(cursor.snapshot()).toEqual({ lastValue: 3, boundaryKeys: ["[4]"] });
  });

  test("a windowed chain's snapshot is the end of its last finished window, not its greatest record", () => {
    const cursor = new IncrementalCursor(
      incremental({ initial_value: 0, end_value: 30, window: 10, end_param: "until", row_order: null }),
      "events",
      ["id"],
      undefined,
    );
    const [first, second] = [...cursor.windows()!];
    cursor.enter(first!);
    cursor.filter([{ id: 1, seq: 7 }]);
    expect(cursor.snapshot()).toBeUndefined();
    cursor.finish(first!);
    expect(cursor.snapshot()).toEqual({ lastValue: 10, boundaryKeys: [] });
    cursor.enter(second!);
    cursor.filter([{ id: 2, seq: 15 }]);
    expect(cursor.snapshot()).toEqual({ lastValue: 10, boundaryKeys: [] });
  });
});

describe("where a unit checkpoints (check)", () => {
  const server = startServer(() => json([]));
  servers.push(server);
  const cases: [string, string, unknown][] = [
    ["an ordered cursor: page boundaries", 'row_order = "asc"', { mode: "pages", cursor_path: "seq" }],
    ["desc with min: page boundaries", 'row_order = "desc", last_value_func = "min"', { mode: "pages", cursor_path: "seq" }],
    [
      'range_start = "open": once at the end (a page boundary\'s value would drop its ties on the next page)',
      'row_order = "asc", range_start = "open"',
      {
        mode: "end",
        reason: 'range_start = "open" would drop records tied with a page boundary\'s cursor (set range_start = "closed")',
      },
    ],
    ["unordered: once at the end", "", { mode: "end", reason: 'records are not in cursor order (set row_order = "asc" if they are)' }],
    ["a window: window ends", 'window = 10, end_param = "until", end_value = 100', { mode: "windows" }],
    [
      "end_value without a window: once at the end",
      'row_order = "asc", end_value = 100',
      { mode: "end", reason: "end_value leaves the stored cursor alone" },
    ],
  ];
  for (const [name, extra, expected] of cases) {
    test(name, async () => {
      const p = project(
        `${testHead(server.url)}[[resources]]\nname = "events"\nendpoint.incremental = { cursor_path = "seq", initial_value = 0, start_param = "since"${extra ? `, ${extra}` : ""} }\n`,
      );
      const checked = await runMain(["check", p.pipeline, "--json"]);
      expect(checked.code).toBe(0);
      expect(JSON.parse(checked.stdout).units[0].checkpoints).toEqual(expected);
      const text = await runMain(["check", p.pipeline]);
      expect(text.stdout).toMatch(/checkpoints: (at window ends|at page boundaries \(ordered by seq\)|once at the end: .+)/);
    });
  }

  test("a replace table, and checkpoint_interval = 0, commit once at the end", async () => {
    const replaced = project(
      `${testHead(server.url)}[[resources]]\nname = "events"\nwrite_disposition = "replace"\nendpoint.incremental = { cursor_path = "seq", initial_value = 0, row_order = "asc" }\n`,
    );
    const first = JSON.parse((await runMain(["check", replaced.pipeline, "--json"])).stdout);
    expect(first.units[0].checkpoints).toEqual({ mode: "end", reason: 'table "events" is replaced (write_disposition = "replace")' });
    const off = project(
      `${testHead(server.url).replace('dataset = "data"\n', 'dataset = "data"\ncheckpoint_interval = 0\n')}[[resources]]\nname = "events"\nendpoint.incremental = { cursor_path = "seq", initial_value = 0, row_order = "asc" }\n`,
    );
    const second = JSON.parse((await runMain(["check", off.pipeline, "--json"])).stdout);
    expect(second.checkpoint_interval).toBe(0);
    expect(second.units[0].checkpoints).toEqual({ mode: "end", reason: "checkpoint_interval = 0" });
  });
});

describe("LoadIds", () => {
  test("each checkpoint gets a new, later load id and the next number", () => {
    const ids = new LoadIds();
    const first = ids.current;
    expect(ids.checkpoint).toBe(1);
    const second = ids.next();
    expect(ids.current).toBe(second);
    expect(ids.checkpoint).toBe(2);
    expect(Number(second)).toBeGreaterThan(Number(first));
  });
});

describe("the status file", () => {
  test("is named per dataset and shows per unit the checkpoints committed, their rows and the cursor reached", async () => {
    const dir = tempDir("restload-status-");
    const path = statusFilePath(join(dir, "x.duckdb"), "data");
    expect(path).toBe(join(dir, "x.duckdb.data.status.json"));
    const status = new StatusFile(path, { runId: "r", pipeline: "p", dataset: "data", startedAt: new Date() }, new Redactor());
    const events = trackStatus(status, undefined);
    events({ type: "unit_started", unit: "events", load_id: "1" });
    events({ type: "checkpoint", unit: "events", checkpoint: 1, load_id: "1", rows: 100, cursor: 100 });
    events({ type: "checkpoint", unit: "events", checkpoint: 2, load_id: "2", rows: 50, cursor: 150 });
    status.finish("running");
    await status.flushed();
    const document = JSON.parse(readFileSync(path, "utf8"));
    expect(document.dataset).toBe("data");
    expect(document.checkpoints).toEqual({ events: { checkpoints: 2, rows_committed: 150, cursor: 150 } });
  });
});

describe("system tables", () => {
  test("an older database's _rl_loads gains checkpoint, final and cursor_reached; its rows read as whole units", async () => {
    const file = join(tempDir("restload-migrate-"), "old.duckdb");
    const database = await openDatabase(file, { create: true, lockTimeoutMs: 0, memoryLimit: "128MB" });
    try {
      const session = await Session.of(database);
      // The layout of version 3, with one unit recorded.
      await session.run(`CREATE SCHEMA data`);
      await session.run(`CREATE TABLE data._rl_version (version INTEGER NOT NULL, migrated_at TIMESTAMPTZ NOT NULL)`);
      await session.run(`INSERT INTO data._rl_version VALUES (1, now()), (2, now()), (3, now())`);
      await session.run(
        `CREATE TABLE data._rl_runs (run_id VARCHAR PRIMARY KEY, pipeline VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ, status VARCHAR NOT NULL, exit_code INTEGER, pid INTEGER, host VARCHAR, rows BIGINT, requests BIGINT, retries BIGINT, error VARCHAR, error_data JSON)`,
      );
      await session.run(
        `CREATE TABLE data._rl_loads (load_id VARCHAR PRIMARY KEY, run_id VARCHAR NOT NULL, unit VARCHAR NOT NULL, status VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ, rows_by_table JSON, requests BIGINT, retries BIGINT, error VARCHAR, resources JSON, error_data JSON)`,
      );
      await session.run(
        `CREATE TABLE data._rl_state (pipeline VARCHAR NOT NULL, resource VARCHAR NOT NULL, parent_key VARCHAR NOT NULL, cursor_path VARCHAR NOT NULL, last_value VARCHAR, value_type VARCHAR, boundary_keys JSON, load_id VARCHAR, updated_at TIMESTAMPTZ, PRIMARY KEY (pipeline, resource, parent_key, cursor_path))`,
      );
      await session.run(
        `INSERT INTO data._rl_loads (load_id, run_id, unit, status, started_at) VALUES ('1.0', 'r', 'events', 'committed', now())`,
      );
      await ensureSystemTables(session, "data");
      expect(await session.all(`SELECT checkpoint, final, cursor_reached FROM data._rl_loads`)).toEqual([
        { checkpoint: 1, final: true, cursor_reached: null },
      ]);
      expect(await session.all(`SELECT max(version) AS v FROM data._rl_version`)).toEqual([{ v: 6 }]);
    } finally {
      database.close();
    }
  });
});

describe("runs of one pipeline", () => {
  test("a process holding the pipeline's run lock refuses a second run with E_LOCKED naming it, without a request; runs left running are interrupted whatever their pid or host", async () => {
    const server = startServer(() => json([{ id: 1 }]));
    servers.push(server);
    const p = project(`${testHead(server.url)}[[resources]]\nname = "items"\n`);
    expect((await p.run()).code).toBe(0);
    const lockFile = runLockPath(p.database, "data", "test");
    expect(lockFile).toBe(`${p.database}.data.test.run-lock`);
    // The lock file stays after a run: harmless, the next run opens it again.
    expect(existsSync(lockFile)).toBe(true);

    // Rows a live process's pid (a pid reused after kill -9) and another host (a container sharing the volume) left running.
    const database = await openDatabase(p.database, { create: false, lockTimeoutMs: 5000, memoryLimit: "128MB" });
    try {
      const session = await Session.of(database);
      await session.run(
        `INSERT INTO data._rl_runs (run_id, pipeline, started_at, status, pid, host) VALUES ('reused', 'test', now(), 'running', ?, ?), ('elsewhere', 'test', now(), 'running', 1, 'another-host'), ('other pipeline', 'other', now(), 'running', 1, 'another-host')`,
        [liveProcess(), hostname()],
      );
    } finally {
      database.close();
    }
    expect((await p.run(["--lock-timeout", "0"])).code).toBe(0);
    expect(
      await p.query(
        `select run_id, status, pid is not null as pid from data._rl_runs where run_id in ('reused', 'elsewhere', 'other pipeline') order by run_id`,
      ),
    ).toEqual([
      { run_id: "elsewhere", status: "interrupted", pid: true },
      { run_id: "other pipeline", status: "running", pid: true },
      { run_id: "reused", status: "interrupted", pid: true },
    ]);

    const holder = Bun.spawn([bunBin, join(repoRoot, "test", "fixtures", "hold-database.ts"), lockFile, "20000"], { stdout: "pipe" });
    sleepers.push(holder);
    const reader = (holder.stdout as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("ready");
    const requests = server.requests.length;
    const refused = await p.run(["--lock-timeout", "0.3"]);
    expect(refused.code).toBe(75);
    expect(refused.stderr).toContain(
      `error[E_LOCKED]: Cannot run pipeline "test" into dataset "data" of database "${p.database}" as process ${holder.pid} (`,
    );
    expect(server.requests.length).toBe(requests);
    // Another pipeline of the same file is not held back by it.
    const other = project(`${testHead(server.url).replace('name = "test"', 'name = "other"')}[[resources]]\nname = "things"\n`);
    expect((await runMain(["run", other.pipeline, "--database", p.database])).code).toBe(0);
    holder.kill();
  });
});

describe("stage folders", () => {
  test("each run stages under <database>.stage/<dataset>-<pid>; a new run removes only the folders of dead processes", async () => {
    const database = join(tempDir("restload-stage-"), "x.duckdb");
    expect(runStageDir(database, "data")).toBe(`${database}.stage/data-${process.pid}`);
    const live = join(`${database}.stage`, `other-${liveProcess()}`);
    const dead = join(`${database}.stage`, `data-${await deadPid()}`);
    const legacy = join(`${database}.stage`, "1718000000.000001");
    for (const dir of [live, dead, legacy]) mkdirSync(dir, { recursive: true });
    removeDeadStageDirs(database);
    expect([existsSync(live), existsSync(dead), existsSync(legacy)]).toEqual([true, false, false]);
  });
});
