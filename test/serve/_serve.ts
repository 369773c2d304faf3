// Helpers of the status page tests: `restload serve` as a real process, reading /healthz and
// /metrics, waiting for a condition, holding a database's lock from another process until released,
// databases with exports recorded (or from before exports were).
import { copyFileSync } from "node:fs";
import { basename, join } from "node:path";
import { openDatabase } from "../../src/db/open.ts";
import { type ExportRecord, recordExport } from "../../src/export/record.ts";
import { bunBin, mainTs, repoRoot, servingUrl, tempDir } from "../helpers.ts";

const started: ReturnType<typeof Bun.spawn>[] = [];

/** Starts `restload serve --port 0 <args>`; resolves with its base URL once it listens. */
export async function startServe(args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const proc = Bun.spawn([bunBin, mainTs, "serve", "--port", "0", ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  started.push(proc);
  return servingUrl(proc);
}

/** Stops every process `startServe` and `holdDatabase` started (call from afterAll). */
export async function stopServes(): Promise<void> {
  for (const proc of started.splice(0)) {
    proc.kill();
    await proc.exited;
  }
}

export interface Health {
  readonly status: number;
  readonly text: string;
}

export async function healthOf(base: string): Promise<Health> {
  const response = await fetch(`${base}healthz`);
  return { status: response.status, text: await response.text() };
}

/** Samples of a Prometheus text: `name{labels}` → value. */
export async function metricsOf(base: string): Promise<{ text: string; samples: Map<string, number> }> {
  const text = await (await fetch(`${base}metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return { text, samples };
}

/**
 * Polls `check` every `everyMs` until it returns a value other than undefined; rejects after
 * `timeoutMs` with `what` and the last value seen. Resolves with the value and the milliseconds waited.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs?: number; everyMs?: number; last?: () => unknown } = {},
): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const timeoutMs = options.timeoutMs ?? 20_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return { value, ms: performance.now() - start };
    if (performance.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${options.last ? `; last: ${String(options.last())}` : ""}`);
    await Bun.sleep(options.everyMs ?? 50);
  }
}

/**
 * Holds `database` open read-write (so locked) from another process until `release` is called (or
 * two minutes pass, should a test fail before it releases); resolves once the lock is held. The
 * holder creates a table, so the file changes as a run's commit changes it. Like a run, it first
 * waits (up to 30 s) for a process that holds the file only for a moment.
 */
export async function holdDatabase(database: string): Promise<{ pid: number; release(): Promise<number> }> {
  const holder = `
    import { openDatabase } from ${JSON.stringify(join(repoRoot, "src", "db", "open.ts"))};
    const db = await openDatabase(${JSON.stringify(database)}, { create: true, lockTimeoutMs: 30000, memoryLimit: "128MB" });
    await db.connection.run("create table if not exists held(x int)");
    console.log("ready");
    await new Promise((done) => { process.on("SIGTERM", done); setTimeout(done, 120000); });
    db.close();
    process.exit(0);
  `;
  const proc = Bun.spawn([bunBin, "-e", holder], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
  started.push(proc);
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the holder of ${database} exited: ${await new Response(proc.stderr).text()}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return {
    pid: proc.pid,
    async release() {
      // SIGTERM makes it close the database and exit 0.
      proc.kill("SIGTERM");
      return proc.exited;
    },
  };
}

/** An export's `_rl_exports` row: an ok one of the dataset "data" that finished `finishedAt`, with `fields` over it. */
export function exportRecord(finishedAt: Date, fields: Partial<ExportRecord> = {}): ExportRecord {
  return {
    export_id: `export-${finishedAt.getTime()}`,
    run_id: null,
    started_at: new Date(finishedAt.getTime() - 1500),
    finished_at: finishedAt,
    status: "ok",
    dir: "/srv/lake/data",
    tables_written: 1,
    tables_unchanged: 0,
    files_written: 1,
    rows_written: 1,
    bytes_written: 1000,
    error: null,
    ...fields,
  };
}

/**
 * Records `exports` (in this order) into `database`, a file a real run wrote, as an export does
 * (`recordExport`: the dataset "data").
 */
export async function recordExports(database: string, exports: readonly ExportRecord[]): Promise<void> {
  for (const record of exports) await recordExport({ database, dataset: "data", lockTimeoutMs: 10_000, memoryLimit: "64MB" }, record);
}

/** A copy of `database` (a real run's file) in a temp folder, with `exports` recorded into it. */
export async function copyWithExports(database: string, exports: readonly ExportRecord[]): Promise<string> {
  const copy = join(tempDir("restload-serve-"), basename(database));
  copyFileSync(database, copy);
  await recordExports(copy, exports);
  return copy;
}

/**
 * A copy of `database` (a real run's file) as restload wrote it before exports were recorded: the
 * dataset "data" without `_rl_exports`, at system table version 5.
 */
export async function copyFromBeforeExports(database: string): Promise<string> {
  const copy = join(tempDir("restload-serve-"), basename(database));
  copyFileSync(database, copy);
  const db = await openDatabase(copy, { create: false, lockTimeoutMs: 0, memoryLimit: "64MB" });
  try {
    await db.connection.run("DROP TABLE data._rl_exports");
    await db.connection.run("DELETE FROM data._rl_version WHERE version >= 6");
  } finally {
    db.close();
  }
  return copy;
}

/** Whether `database` has `data._rl_exports`, and its system table version (read-only). */
export async function exportsTableOf(database: string): Promise<{ exists: boolean; version: number }> {
  const db = await openDatabase(database, { create: false, readOnly: true, lockTimeoutMs: 10_000, memoryLimit: "64MB" });
  try {
    const tables = await db.connection.runAndReadAll(
      "SELECT count(*) AS n FROM duckdb_tables() WHERE schema_name = 'data' AND table_name = '_rl_exports'",
    );
    const version = await db.connection.runAndReadAll("SELECT max(version) AS v FROM data._rl_version");
    return { exists: Number(tables.getRowObjects()[0]?.n) > 0, version: Number(version.getRowObjects()[0]?.v) };
  } finally {
    db.close();
  }
}
