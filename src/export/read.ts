// The part of an export that holds the database: open it read-only (waiting out another
// process's lock), fingerprint each table in scope, COPY the changed ones to Parquet files in a
// temp folder, close. Publishing the files happens after the database is closed (`publish.ts`).
import { createHash } from "node:crypto";
import { join } from "node:path";
import { openDatabase } from "../db/open.ts";
import { quoteIdent, quoteLiteral, Session } from "../db/session.ts";
import { isSystemTable } from "../state/system-tables.ts";

export interface ReadRequest {
  readonly database: string;
  readonly dataset: string;
  readonly lockTimeoutMs: number;
  readonly memoryLimit: string;
  /** Whether a data table is exported. */
  readonly inScope: (table: string) => boolean;
  /** The fingerprint each table had when last exported (with its file still in place). */
  readonly previous: (table: string) => string | undefined;
  /** The temp folder Parquet files are written to, as `<table>.parquet`. */
  readonly tempDir: string;
}

export interface ReadTable {
  readonly table: string;
  readonly rows: number;
  readonly fingerprint: string;
  /** The Parquet file written to the temp folder; null when the table did not change. */
  readonly written: string | null;
  readonly load_ids: readonly string[];
}

/** The data tables of the dataset in scope, with a Parquet file for each that changed. */
export async function readTables(request: ReadRequest): Promise<{ readonly tables: ReadTable[]; readonly datasetFound: boolean }> {
  const database = await openDatabase(request.database, {
    create: false,
    readOnly: true,
    lockTimeoutMs: request.lockTimeoutMs,
    memoryLimit: request.memoryLimit,
  });
  try {
    const session = await Session.of(database);
    const found = await session.all("SELECT schema_name FROM duckdb_schemas() WHERE database_name = ? AND schema_name = ?", [
      session.catalog,
      request.dataset,
    ]);
    const names = (
      await session.all("SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? ORDER BY table_name", [
        session.catalog,
        request.dataset,
      ])
    )
      .map((row) => String(row.table_name))
      .filter((name) => !isSystemTable(name) && request.inScope(name));
    const tables: ReadTable[] = [];
    for (const name of names) tables.push(await readTable(session, request, name));
    return { tables, datasetFound: found.length > 0 };
  } finally {
    database.close();
  }
}

// internal

async function readTable(session: Session, request: ReadRequest, name: string): Promise<ReadTable> {
  const table = session.table(request.dataset, name);
  const columns = await session.all(
    "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index",
    [session.catalog, request.dataset, name],
  );
  // Any change of any row (a merge, an scd2 retirement) changes the sum of the rows' hashes.
  const hashed = columns.map((column) => quoteIdent(String(column.column_name))).join(", ");
  const [print] = await session.all(`SELECT count(*) AS n, coalesce(sum(hash(${hashed})::HUGEINT), 0)::VARCHAR AS h FROM ${table}`);
  const rows = Number(print?.n ?? 0);
  // A new column changes the file even when its values are all NULL: the columns are part of it.
  const schema = createHash("sha256")
    .update(columns.map((column) => `${String(column.column_name)} ${String(column.data_type)}`).join("\n"))
    .digest("hex")
    .slice(0, 16);
  const fingerprint = `${rows}:${String(print?.h ?? "0")}:${schema}`;
  const hasLoadId = columns.some((column) => column.column_name === "_rl_load_id");
  const loadIds = hasLoadId
    ? (await session.all(`SELECT DISTINCT _rl_load_id AS id FROM ${table} WHERE _rl_load_id IS NOT NULL ORDER BY 1`)).map((row) =>
        String(row.id),
      )
    : [];
  if (request.previous(name) === fingerprint) return { table: name, rows, fingerprint, written: null, load_ids: loadIds };
  const file = join(request.tempDir, `${name}.parquet`);
  const select = columns.map((column) => exportedColumn(String(column.column_name), String(column.data_type))).join(", ");
  const order = hasLoadId ? " ORDER BY _rl_load_id" : "";
  await session.run(`COPY (SELECT ${select} FROM ${table}${order}) TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION snappy)`);
  return { table: name, rows, fingerprint, written: file, load_ids: loadIds };
}

/**
 * A column as Parquet gets it, exact: DuckDB writes HUGEINT as a DOUBLE, so it goes as
 * DECIMAL(38,0); JSON goes as its text. Other types (BIGINT, DECIMAL, TIMESTAMPTZ as a UTC
 * timestamp) map to Parquet as they are.
 */
function exportedColumn(name: string, type: string): string {
  const column = quoteIdent(name);
  if (type === "HUGEINT" || type === "UHUGEINT") return `CAST(${column} AS DECIMAL(38,0)) AS ${column}`;
  if (type === "JSON") return `CAST(${column} AS VARCHAR) AS ${column}`;
  return column;
}
