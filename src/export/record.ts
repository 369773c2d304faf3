// `_rl_exports`: one row per export, written when it ends (ok or failed), for `serve` and for
// operators' SQL. Written by a short read-write open after the files are published, so the
// database is held only for the insert. A killed export writes no row; its leftovers are cleaned
// by the next export (`generations.ts`).
import { openDatabase } from "../db/open.ts";
import { Session } from "../db/session.ts";
import { ensureSystemTables } from "../state/system-tables.ts";

export interface ExportRecord {
  readonly export_id: string;
  /** The run that triggered the export (`[export] dir`); null for `restload export`. */
  readonly run_id: string | null;
  readonly started_at: Date;
  readonly finished_at: Date;
  readonly status: "ok" | "failed";
  /** The dataset's export folder, `DIR/<dataset>`. */
  readonly dir: string;
  readonly tables_written: number;
  readonly tables_unchanged: number;
  readonly files_written: number;
  readonly rows_written: number;
  readonly bytes_written: number;
  /** The failure's text, the pipeline's secrets masked; null when ok. */
  readonly error: string | null;
}

export interface RecordTarget {
  readonly database: string;
  readonly dataset: string;
  readonly lockTimeoutMs: number;
  readonly memoryLimit: string;
}

/**
 * Inserts the export's row into `<dataset>._rl_exports`, migrating the system tables first. A
 * database without the dataset gets nothing: creating it here would make the next export see an
 * empty dataset and unpublish every table.
 */
export async function recordExport(target: RecordTarget, record: ExportRecord): Promise<void> {
  const database = await openDatabase(target.database, {
    create: false,
    lockTimeoutMs: target.lockTimeoutMs,
    memoryLimit: target.memoryLimit,
  });
  try {
    const session = await Session.of(database);
    const found = await session.all("SELECT 1 FROM duckdb_schemas() WHERE database_name = ? AND schema_name = ?", [
      session.catalog,
      target.dataset,
    ]);
    if (found.length === 0) return;
    await ensureSystemTables(session, target.dataset);
    await session.run(
      `INSERT INTO ${session.table(target.dataset, "_rl_exports")} VALUES (?, ?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        record.export_id,
        record.run_id,
        record.started_at.toISOString(),
        record.finished_at.toISOString(),
        record.status,
        record.dir,
        record.tables_written,
        record.tables_unchanged,
        record.files_written,
        record.rows_written,
        record.bytes_written,
        record.error,
      ],
    );
  } finally {
    database.close();
  }
}
