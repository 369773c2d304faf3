// What the status page knows of a database: its pipelines' runs, loads, tables and cursors, read
// in a few milliseconds when the file is free (runs hold it only while they write), and the live
// run's status file.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { RestloadError } from "../errors.ts";
import { openDatabase } from "../db/open.ts";
import { Session } from "../db/session.ts";
import type { RunStatusDocument } from "../state/status-file.ts";
import { isoFromMs } from "../util/time.ts";
import { processAlive } from "../util/process-alive.ts";

export interface RunRow {
  readonly run_id: string;
  readonly pipeline: string;
  readonly started_at: string;
  readonly finished_at: string | null;
  readonly status: string;
  readonly exit_code: number | null;
  readonly rows: number;
  readonly requests: number;
  readonly retries: number;
  readonly duration_s: number | null;
  readonly error: string | null;
}

export interface LoadRow {
  readonly load_id: string;
  readonly unit: string;
  /** The checkpoint's number within its unit's run (each checkpoint is a load of its own). */
  readonly checkpoint: number;
  /** The unit's last load: its final commit or its failure. */
  readonly final: boolean;
  readonly status: string;
  readonly started_at: string;
  readonly duration_s: number | null;
  readonly rows_by_table: Record<string, number>;
  readonly resources: Record<string, { pages: number; records: number; retries: number }>;
  readonly requests: number;
  readonly retries: number;
  readonly error: string | null;
}

export interface PipelineSnapshot {
  readonly pipeline: string;
  readonly dataset: string;
  readonly runs: readonly RunRow[];
  readonly loads_by_run: Readonly<Record<string, readonly LoadRow[]>>;
  readonly last_success_at: string | null;
  readonly tables: readonly { table: string; rows: number }[];
  readonly cursors: readonly { resource: string; parent_key: string; last_value: string; updated_at: string | null }[];
}

export interface DatabaseSnapshot {
  readonly database: string;
  readonly read_at: string | null;
  readonly pipelines: readonly PipelineSnapshot[];
  /** The runs going on now (from their status files), one per dataset at most, newest first. */
  readonly live: readonly RunStatusDocument[];
  /** Why committed data could not be read now (held by a run, missing file). */
  readonly note: string | null;
}

const recentRuns = 30;

/**
 * Reads databases for the page. A database a run holds is not waited for: the last snapshot read
 * stays, and the status file shows the run. Reads happen at most once a second per file, or as
 * soon as the file changed, so newly committed runs appear at once.
 */
export class Snapshots {
  private readonly cache = new Map<string, { snapshot: DatabaseSnapshot; stamp: string; at: number }>();

  async read(database: string): Promise<DatabaseSnapshot> {
    const live = readStatusFiles(database);
    const cached = this.cache.get(database);
    if (!existsSync(database))
      return { database, read_at: null, pipelines: [], live, note: "the database does not exist yet (no run so far)" };
    const stamp = fileStamp(database);
    if (cached && cached.stamp === stamp && Date.now() - cached.at < 1000) return { ...cached.snapshot, live };
    try {
      const snapshot = await readDatabase(database);
      this.cache.set(database, { snapshot, stamp, at: Date.now() });
      return { ...snapshot, live };
    } catch (error) {
      const note =
        error instanceof RestloadError && error.code === "E_LOCKED"
          ? "a run holds the database; showing its progress and the data read before"
          : `cannot read the database: ${(error as Error).message}`;
      return { ...(cached?.snapshot ?? { database, read_at: null, pipelines: [], live: [], note: null }), live, note };
    }
  }
}

// internal

function fileStamp(path: string): string {
  const stamp = (file: string) => (existsSync(file) ? `${statSync(file).mtimeMs}:${statSync(file).size}` : "-");
  return `${stamp(path)}|${stamp(`${path}.wal`)}`;
}

/**
 * The live runs among the database's status files (`<database>.<dataset>.status.json`, one per
 * dataset: pipelines writing other datasets of one file run at once), newest first.
 */
function readStatusFiles(database: string): RunStatusDocument[] {
  const prefix = `${basename(database)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(database)).filter((name) => name.startsWith(prefix) && name.endsWith(".status.json"));
  } catch {
    return [];
  }
  const live: RunStatusDocument[] = [];
  for (const name of names) {
    try {
      const status = JSON.parse(readFileSync(join(dirname(database), name), "utf8")) as RunStatusDocument;
      // The file is rewritten twice a second while a run lives: a stale one (killed run, reused pid) is not live.
      const fresh = Date.now() - Date.parse(status.updated_at) < 10_000;
      // A run killed with -9 leaves "running" behind: its process must still exist to count as live.
      if (status.state !== "running" || !fresh || !processAlive(status.pid)) continue;
      live.push(status);
    } catch {
      // Half-written by hand, or gone between listing and reading: not a live run.
    }
  }
  return live.sort((a, b) => b.started_at.localeCompare(a.started_at));
}

async function readDatabase(path: string): Promise<DatabaseSnapshot> {
  // Read-only and without waiting: the page must never stand in a run's way for more than the
  // milliseconds a read takes.
  const database = await openDatabase(path, { create: false, readOnly: true, lockTimeoutMs: 0, memoryLimit: "64MB" });
  try {
    const session = await Session.of(database);
    const datasets = (
      await session.all(
        `SELECT schema_name FROM duckdb_tables() WHERE database_name = ? AND table_name = '_rl_runs' ORDER BY schema_name`,
        [session.catalog],
      )
    ).map((row) => String(row.schema_name));
    const pipelines: PipelineSnapshot[] = [];
    for (const dataset of datasets) {
      const runs = (
        await session.all(
          `SELECT run_id, pipeline, epoch_ms(started_at) AS started_at, epoch_ms(finished_at) AS finished_at, status, exit_code,
                coalesce(rows, 0) AS rows, coalesce(requests, 0) AS requests, coalesce(retries, 0) AS retries,
                epoch(finished_at) - epoch(started_at) AS duration_s, error
           FROM ${session.table(dataset, "_rl_runs")} AS r ORDER BY r.started_at DESC LIMIT ${recentRuns}`,
        )
      ).map((row) => ({
        run_id: String(row.run_id),
        pipeline: String(row.pipeline),
        started_at: isoFromMs(row.started_at) ?? "",
        finished_at: isoFromMs(row.finished_at),
        status: String(row.status),
        exit_code: row.exit_code === null ? null : Number(row.exit_code),
        rows: Number(row.rows),
        requests: Number(row.requests),
        retries: Number(row.retries),
        duration_s: row.duration_s === null ? null : Number(row.duration_s),
        error: row.error === null ? null : String(row.error),
      }));
      // A database last written by an older restload may lack newer columns: the page reads it as it is.
      const [resourcesColumn] = await session.all(
        `SELECT count(*) AS n FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = '_rl_loads' AND column_name = 'resources'`,
        [session.catalog, dataset],
      );
      const resources = Number(resourcesColumn?.n) > 0 ? "resources::VARCHAR" : "NULL";
      // Databases written before checkpoints have one load per unit: checkpoint 1, final.
      const [checkpointColumn] = await session.all(
        `SELECT count(*) AS n FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = '_rl_loads' AND column_name = 'checkpoint'`,
        [session.catalog, dataset],
      );
      const checkpoints =
        Number(checkpointColumn?.n) > 0
          ? "coalesce(checkpoint, 1) AS checkpoint, coalesce(final, true) AS final"
          : "1 AS checkpoint, true AS final";
      const loads = await session.all(
        `SELECT load_id, run_id, unit, status, epoch_ms(started_at) AS started_at, epoch(finished_at) - epoch(started_at) AS duration_s,
                rows_by_table::VARCHAR AS rows_by_table, ${resources} AS resources, requests, retries, error, ${checkpoints}
           FROM ${session.table(dataset, "_rl_loads")} AS l WHERE run_id IN (SELECT run_id FROM ${session.table(dataset, "_rl_runs")} ORDER BY started_at DESC LIMIT ${recentRuns}) ORDER BY l.started_at`,
      );
      const loadsByRun: Record<string, LoadRow[]> = {};
      for (const row of loads) {
        (loadsByRun[String(row.run_id)] ??= []).push({
          load_id: String(row.load_id),
          unit: String(row.unit),
          checkpoint: Number(row.checkpoint ?? 1),
          final: row.final !== false,
          status: String(row.status),
          started_at: isoFromMs(row.started_at) ?? "",
          duration_s: row.duration_s === null ? null : Number(row.duration_s),
          rows_by_table: JSON.parse(String(row.rows_by_table ?? "{}")),
          resources: JSON.parse(String(row.resources ?? "{}")),
          requests: Number(row.requests ?? 0),
          retries: Number(row.retries ?? 0),
          error: row.error === null ? null : String(row.error),
        });
      }
      const [success] = await session.all(
        `SELECT epoch_ms(max(finished_at)) AS at FROM ${session.table(dataset, "_rl_loads")} WHERE status = 'committed'`,
      );
      const tables: { table: string; rows: number }[] = [];
      for (const row of await session.all(
        `SELECT table_name, estimated_size FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? AND table_name NOT LIKE '\\_rl\\_%' ESCAPE '\\' ORDER BY table_name`,
        [session.catalog, dataset],
      )) {
        const [count] = await session.all(`SELECT count(*) AS n FROM ${session.table(dataset, String(row.table_name))}`);
        tables.push({ table: String(row.table_name), rows: Number(count?.n ?? 0) });
      }
      const cursors = (
        await session.all(
          `SELECT resource, parent_key, last_value, epoch_ms(updated_at) AS updated_at FROM ${session.table(dataset, "_rl_state")} AS s ORDER BY s.updated_at DESC LIMIT 50`,
        )
      ).map((row) => ({
        resource: String(row.resource),
        parent_key: String(row.parent_key),
        last_value: String(row.last_value),
        updated_at: isoFromMs(row.updated_at),
      }));
      const pipeline = runs[0]?.pipeline ?? dataset;
      pipelines.push({ pipeline, dataset, runs, loads_by_run: loadsByRun, last_success_at: isoFromMs(success?.at), tables, cursors });
    }
    return { database: path, read_at: new Date().toISOString(), pipelines, live: [], note: null };
  } finally {
    database.close();
  }
}
