// What `restload tables` shows (data tables, row counts, the last load that wrote each), and the one
// rule for "when was a table last loaded" that the status page uses too.
import { openDatabase } from "../db/open.ts";
import { Session } from "../db/session.ts";
import { isoFromMs } from "../util/time.ts";
import { isSystemTable } from "./system-tables.ts";

export interface TableInfo {
  readonly table: string;
  readonly rows: number;
  readonly last_load_id: string | null;
  readonly last_loaded_at: string | null;
}

/** Per pipeline and table: what its committed loads wrote, and the last of them that wrote rows. */
export interface TableLoads {
  readonly pipeline: string;
  readonly table: string;
  /** Rows written over every committed load (checkpoint) of the pipeline. */
  readonly rows_committed: number;
  /** The newest committed load that wrote rows to the table (null when none did): its id, run and end (epoch ms). */
  readonly last_load_id: string | null;
  readonly last_run_id: string | null;
  readonly last_loaded_ms: number | null;
}

/**
 * What the committed loads of `dataset` wrote per pipeline and table (from `_rl_loads.rows_by_table`).
 * A table was last loaded by the newest committed load that wrote rows to it: a load that wrote
 * none (an incremental run with nothing new) does not count. The dataset must have `_rl_runs` and
 * `_rl_loads`.
 */
export async function tableLoads(session: Session, dataset: string): Promise<TableLoads[]> {
  const rows = await session.all(
    `SELECT pipeline, table_name, coalesce(sum(n), 0) AS rows_committed,
            arg_max(load_id, finished_at) FILTER (WHERE n > 0) AS load_id,
            arg_max(run_id, finished_at) FILTER (WHERE n > 0) AS run_id,
            epoch_ms(max(finished_at) FILTER (WHERE n > 0)) AS loaded_at
       FROM (SELECT r.pipeline, j.key AS table_name, TRY_CAST(j.value AS BIGINT) AS n, l.finished_at, l.load_id, l.run_id
               FROM ${session.table(dataset, "_rl_loads")} AS l JOIN ${session.table(dataset, "_rl_runs")} AS r USING (run_id),
                    json_each(l.rows_by_table) AS j
              WHERE l.status = 'committed')
      GROUP BY ALL`,
  );
  const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
  return rows.map((row) => ({
    pipeline: String(row.pipeline),
    table: String(row.table_name),
    rows_committed: Number(row.rows_committed),
    last_load_id: text(row.load_id),
    last_run_id: text(row.run_id),
    last_loaded_ms: row.loaded_at === null || row.loaded_at === undefined ? null : Number(row.loaded_at),
  }));
}

/** Opens the database read-only (never creating it) and lists the dataset's data tables. */
export async function listTables(path: string, dataset: string, lockTimeoutMs: number, memoryLimit: string): Promise<TableInfo[]> {
  const database = await openDatabase(path, { create: false, readOnly: true, lockTimeoutMs, memoryLimit });
  try {
    const session = await Session.of(database);
    const names = (
      await session.all(`SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? ORDER BY table_name`, [
        session.catalog,
        dataset,
      ])
    ).map((row) => String(row.table_name));
    // Over every pipeline that loads into the dataset: the newest load that wrote rows to the table.
    const lastLoad = new Map<string, TableLoads>();
    if (names.includes("_rl_loads") && names.includes("_rl_runs")) {
      for (const load of await tableLoads(session, dataset)) {
        const newest = lastLoad.get(load.table)?.last_loaded_ms ?? Number.NEGATIVE_INFINITY;
        if (load.last_loaded_ms !== null && load.last_loaded_ms > newest) lastLoad.set(load.table, load);
      }
    }
    const out: TableInfo[] = [];
    for (const name of names.filter((table) => !isSystemTable(table))) {
      const [count] = await session.all(`SELECT count(*) AS n FROM ${session.table(dataset, name)}`);
      const load = lastLoad.get(name);
      out.push({
        table: name,
        rows: Number(count?.n ?? 0),
        last_load_id: load?.last_load_id ?? null,
        last_loaded_at: isoFromMs(load?.last_loaded_ms),
      });
    }
    return out;
  } finally {
    database.close();
  }
}
