// What `restload tables` shows: data tables, row counts, the last load that wrote each.
import { openDatabase } from "../db/open.ts";
import { Session } from "../db/session.ts";
import { isSystemTable } from "./system-tables.ts";
import { isoFromMs } from "../util/time.ts";

export interface TableInfo {
  readonly table: string;
  readonly rows: number;
  readonly last_load_id: string | null;
  readonly last_loaded_at: string | null;
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
    const loads = names.includes("_rl_loads")
      ? await session.all(
          `SELECT key AS table_name, arg_max(load_id, finished_at) AS load_id, epoch_ms(max(finished_at)) AS finished_at
           FROM ${session.table(dataset, "_rl_loads")}, json_each(rows_by_table) WHERE status = 'committed' GROUP BY key`,
        )
      : [];
    const lastLoad = new Map(loads.map((row) => [String(row.table_name), row]));
    const out: TableInfo[] = [];
    for (const name of names.filter((table) => !isSystemTable(table))) {
      const [count] = await session.all(`SELECT count(*) AS n FROM ${session.table(dataset, name)}`);
      const load = lastLoad.get(name);
      out.push({
        table: name,
        rows: Number(count?.n ?? 0),
        last_load_id: load ? String(load.load_id) : null,
        last_loaded_at: load ? isoFromMs(load.finished_at) : null,
      });
    }
    return out;
  } finally {
    database.close();
  }
}
