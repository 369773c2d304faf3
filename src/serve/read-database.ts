// Reads a database's committed data for the status page: per dataset and pipeline its runs, loads,
// tables, cursors, totals and the dataset's last export, opened read-only without waiting, in a few
// queries per dataset, and closed again at once.
import { openDatabase } from "../db/open.ts";
import { Session, type SqlRow, quoteLiteral } from "../db/session.ts";
import { isSystemTable } from "../state/system-tables.ts";
import { type TableLoads, tableLoads } from "../state/tables.ts";
import { isoFromMs } from "../util/time.ts";
import { threeDecimals } from "./_numbers.ts";
import { errorInfo, jsonObject, schemaChanges } from "./_parse.ts";
import type { ExportRow, LoadRow, PipelineSnapshot, RunRow, TableRow } from "./types.ts";

const recentRuns = 30;
const recentCursors = 50;

/**
 * The pipelines of every dataset of `path` that has restload's system tables. Rejects with
 * E_LOCKED at once while another process holds the file (the caller keeps what it read before).
 */
export async function readPipelines(path: string): Promise<PipelineSnapshot[]> {
  // Read-only, without waiting and on one thread: the page must never stand in a run's way for
  // more than the milliseconds a read takes.
  const database = await openDatabase(path, { create: false, readOnly: true, lockTimeoutMs: 0, memoryLimit: "64MB", threads: 1 });
  try {
    const session = await Session.of(database);
    const columns = await session.all(
      // Tables only (a view a user added may be slow to count).
      `SELECT c.schema_name, c.table_name, c.column_name FROM duckdb_columns() AS c JOIN duckdb_tables() AS t USING (database_name, schema_name, table_name)
        WHERE c.database_name = ? ORDER BY c.schema_name, c.table_name`,
      [session.catalog],
    );
    const datasets = new Map<string, Map<string, Set<string>>>();
    for (const row of columns) {
      const tables = datasets.get(String(row.schema_name)) ?? new Map<string, Set<string>>();
      datasets.set(String(row.schema_name), tables);
      const names = tables.get(String(row.table_name)) ?? new Set<string>();
      tables.set(String(row.table_name), names);
      names.add(String(row.column_name));
    }
    const pipelines: PipelineSnapshot[] = [];
    for (const [dataset, tables] of datasets) {
      if (tables.has("_rl_runs")) pipelines.push(...(await readDataset(session, dataset, tables)));
    }
    return pipelines;
  } finally {
    database.close();
  }
}

// internal

/** One snapshot per pipeline that ran into `dataset` (usually one); `tables`: its tables and their columns. */
async function readDataset(
  session: Session,
  dataset: string,
  tables: ReadonlyMap<string, ReadonlySet<string>>,
): Promise<PipelineSnapshot[]> {
  const t = (name: string) => session.table(dataset, name);
  // A database last written by an older restload may lack newer columns: it is read as it is.
  const column = (table: string, name: string, otherwise = "NULL") => (tables.get(table)?.has(name) ? name : otherwise);
  const hasLoads = tables.has("_rl_loads");
  const dataTables = [...tables.keys()].filter((name) => !isSystemTable(name));

  const runs = await session.all(
    `SELECT run_id, pipeline, epoch_ms(started_at) AS started_at, epoch_ms(finished_at) AS finished_at, status, exit_code,
            coalesce(rows, 0) AS rows, coalesce(requests, 0) AS requests, coalesce(retries, 0) AS retries,
            epoch_ms(finished_at) - epoch_ms(started_at) AS duration_ms, error,
            ${column("_rl_runs", "error_data")}::VARCHAR AS error_data, pid, host
       FROM ${t("_rl_runs")}
    QUALIFY row_number() OVER (PARTITION BY pipeline ORDER BY started_at DESC) <= ${recentRuns}
      ORDER BY pipeline, started_at DESC`,
  );
  // Over every run, not only the recent ones: what the counters of /metrics are made of.
  const runCounts = await session.all(`SELECT pipeline, status, count(*) AS n FROM ${t("_rl_runs")} GROUP BY ALL`);
  const names = [...new Set(runCounts.map((row) => String(row.pipeline)))].sort();

  let loads: SqlRow[] = [];
  let work: SqlRow[] = [];
  let written: TableLoads[] = [];
  if (hasLoads) {
    // Databases written before checkpoints have one load per unit: checkpoint 1, final.
    const checkpoint = tables.get("_rl_loads")?.has("checkpoint")
      ? "coalesce(checkpoint, 1) AS checkpoint, coalesce(final, true) AS final"
      : "1 AS checkpoint, true AS final";
    loads = await session.all(
      `SELECT load_id, run_id, unit, status, epoch_ms(started_at) AS started_at, epoch_ms(finished_at) AS finished_at,
              epoch_ms(finished_at) - epoch_ms(started_at) AS duration_ms, rows_by_table::VARCHAR AS rows_by_table,
              ${column("_rl_loads", "resources")}::VARCHAR AS resources, requests, retries, error,
              ${column("_rl_loads", "error_data")}::VARCHAR AS error_data,
              ${column("_rl_loads", "schema_changes")}::VARCHAR AS schema_changes, ${checkpoint}
         FROM ${t("_rl_loads")} AS l
        WHERE run_id IN (SELECT run_id FROM ${t("_rl_runs")} QUALIFY row_number() OVER (PARTITION BY pipeline ORDER BY started_at DESC) <= ${recentRuns})
        ORDER BY l.started_at, checkpoint`,
    );
    work = await session.all(
      `SELECT r.pipeline, coalesce(sum(l.requests), 0) AS requests, coalesce(sum(l.retries), 0) AS retries,
              epoch_ms(max(l.finished_at) FILTER (WHERE l.status = 'committed')) AS last_success
         FROM ${t("_rl_loads")} AS l JOIN ${t("_rl_runs")} AS r USING (run_id) GROUP BY ALL`,
    );
    // Per pipeline and table: rows committed, and the newest committed load that wrote rows to it.
    written = await tableLoads(session, dataset);
  }
  const counts = new Map<string, number>();
  if (dataTables.length > 0) {
    for (const row of await session.all(
      dataTables.map((name) => `SELECT ${quoteLiteral(name)} AS table_name, count(*) AS n FROM ${t(name)}`).join(" UNION ALL "),
    ))
      counts.set(String(row.table_name), Number(row.n));
  }
  const cursors = tables.has("_rl_state")
    ? await session.all(
        `SELECT pipeline, resource, parent_key, last_value, epoch_ms(updated_at) AS updated_at FROM ${t("_rl_state")}
        QUALIFY row_number() OVER (PARTITION BY pipeline ORDER BY updated_at DESC) <= ${recentCursors}
          ORDER BY updated_at DESC`,
      )
    : [];
  // A database last written before exports were recorded (migration 6) has no `_rl_exports`: no
  // export to show. Serve reads only: it never creates the table.
  const [exported] = tables.has("_rl_exports")
    ? await session.all(
        `SELECT export_id, run_id, epoch_ms(started_at) AS started_at, epoch_ms(finished_at) AS finished_at,
                epoch_ms(finished_at) - epoch_ms(started_at) AS duration_ms, status, dir, tables_written, tables_unchanged,
                files_written, rows_written, bytes_written, error
           FROM ${t("_rl_exports")} ORDER BY finished_at DESC, started_at DESC, export_id DESC LIMIT 1`,
      )
    : [];
  const lastExport = exported ? exportRow(exported) : null;

  const loadsByRun: Record<string, LoadRow[]> = {};
  for (const row of loads) (loadsByRun[String(row.run_id)] ??= []).push(loadRow(row));
  return names.map((pipeline): PipelineSnapshot => {
    const mine = (row: SqlRow) => String(row.pipeline) === pipeline;
    const pipelineRuns = runs.filter(mine).map(runRow);
    const runTotals: Record<string, number> = {};
    for (const row of runCounts.filter(mine)) if (row.status !== "running") runTotals[String(row.status)] = Number(row.n);
    const own = work.find(mine);
    const byTable = new Map(written.filter((row) => row.pipeline === pipeline).map((row) => [row.table, row]));
    // In a dataset several pipelines write, a pipeline lists the tables its loads wrote.
    const listed = names.length > 1 ? dataTables.filter((name) => byTable.has(name)) : dataTables;
    const tableRows = listed.map((name): TableRow => {
      const load = byTable.get(name);
      return {
        table: name,
        rows: counts.get(name) ?? 0,
        loaded_at: isoFromMs(load?.last_loaded_ms),
        loaded_by_run: load?.last_run_id ?? null,
      };
    });
    return {
      pipeline,
      dataset,
      runs: pipelineRuns,
      loads_by_run: Object.fromEntries(
        pipelineRuns.flatMap((run) => (loadsByRun[run.run_id] ? [[run.run_id, loadsByRun[run.run_id]!]] : [])),
      ),
      last_success_at: isoFromMs(own?.last_success),
      tables: tableRows,
      cursors: cursors.filter(mine).map((row) => ({
        resource: String(row.resource),
        parent_key: String(row.parent_key),
        last_value: String(row.last_value),
        updated_at: isoFromMs(row.updated_at),
      })),
      totals: {
        runs: runTotals,
        rows: [...byTable.values()].reduce((sum, row) => sum + row.rows_committed, 0),
        requests: Number(own?.requests ?? 0),
        retries: Number(own?.retries ?? 0),
      },
      last_export: lastExport,
    };
  });
}

/** Milliseconds as seconds with three decimals. */
function seconds(ms: unknown): number | null {
  return ms === null || ms === undefined ? null : threeDecimals(Number(ms) / 1000);
}

function runRow(row: SqlRow): RunRow {
  return {
    run_id: String(row.run_id),
    pipeline: String(row.pipeline),
    started_at: isoFromMs(row.started_at) ?? "",
    finished_at: isoFromMs(row.finished_at),
    status: String(row.status),
    exit_code: row.exit_code === null ? null : Number(row.exit_code),
    rows: Number(row.rows),
    requests: Number(row.requests),
    retries: Number(row.retries),
    duration_s: seconds(row.duration_ms),
    error: row.error === null ? null : String(row.error),
    error_data: errorInfo(row.error_data),
    pid: row.pid === null || row.pid === undefined ? null : Number(row.pid),
    host: row.host === null || row.host === undefined ? null : String(row.host),
  };
}

function loadRow(row: SqlRow): LoadRow {
  return {
    load_id: String(row.load_id),
    unit: String(row.unit),
    checkpoint: Number(row.checkpoint ?? 1),
    final: row.final !== false,
    status: String(row.status),
    started_at: isoFromMs(row.started_at) ?? "",
    finished_at: isoFromMs(row.finished_at),
    duration_s: seconds(row.duration_ms),
    rows_by_table: jsonObject(row.rows_by_table) as Record<string, number>,
    resources: jsonObject(row.resources) as LoadRow["resources"],
    requests: Number(row.requests ?? 0),
    retries: Number(row.retries ?? 0),
    error: row.error === null ? null : String(row.error),
    error_data: errorInfo(row.error_data),
    schema_changes: schemaChanges(row.schema_changes),
  };
}

function exportRow(row: SqlRow): ExportRow {
  return {
    export_id: String(row.export_id),
    run_id: row.run_id === null || row.run_id === undefined ? null : String(row.run_id),
    started_at: isoFromMs(row.started_at) ?? "",
    finished_at: isoFromMs(row.finished_at) ?? "",
    duration_s: seconds(row.duration_ms),
    status: String(row.status),
    dir: String(row.dir),
    tables_written: Number(row.tables_written),
    tables_unchanged: Number(row.tables_unchanged),
    files_written: Number(row.files_written),
    rows_written: Number(row.rows_written),
    bytes_written: Number(row.bytes_written),
    error: row.error === null || row.error === undefined ? null : String(row.error),
  };
}
