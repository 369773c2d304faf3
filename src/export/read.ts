// The part of an export that holds the database: open it read-only (waiting out another
// process's lock), group each table's rows by load id with their hash sums, COPY what changed to
// Parquet files in a temp folder, close. Publishing happens after the database is closed.
import { join } from "node:path";
import { openDatabase } from "../db/open.ts";
import { quoteIdent, quoteLiteral, Session } from "../db/session.ts";
import { isSystemTable } from "../state/system-tables.ts";
import { type Change, decideChange, type LoadGroups } from "./change.ts";
import type { Column, Generation } from "./generations.ts";

/** The column whose values group a table's rows into loads. */
const loadIdColumn = "_rl_load_id";

export interface ReadRequest {
  readonly database: string;
  readonly dataset: string;
  readonly lockTimeoutMs: number;
  readonly memoryLimit: string;
  /** Whether a data table is exported. */
  readonly inScope: (table: string) => boolean;
  /** The generation each table has published now. */
  readonly previous: (table: string) => Generation | null;
  /** The temp folder Parquet files are written to, as `<table>.parquet`. */
  readonly tempDir: string;
}

export interface ReadTable {
  readonly table: string;
  readonly columns: readonly Column[];
  readonly groups: LoadGroups;
  readonly change: Change;
  /** The file written for an append or a rewrite (its rows: the new load ids, or all). */
  readonly written: { readonly temp: string; readonly loadIds: readonly string[] } | null;
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
  const columns: Column[] = (
    await session.all(
      "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index",
      [session.catalog, request.dataset, name],
    )
  ).map((column) => ({ name: String(column.column_name), type: String(column.data_type) }));
  const hasLoadId = columns.some((column) => column.name === loadIdColumn);
  const loadId = hasLoadId ? `coalesce(${quoteIdent(loadIdColumn)}, '')` : "''";
  const hashed = columns.map((column) => quoteIdent(column.name)).join(", ");
  const groups: LoadGroups = new Map(
    (
      await session.all(
        `SELECT ${loadId} AS id, count(*) AS n, sum(hash(${hashed})::HUGEINT)::VARCHAR AS h FROM ${table} GROUP BY 1 ORDER BY 1`,
      )
    ).map((row) => [String(row.id), { rows: Number(row.n), hash: String(row.h) }]),
  );
  const change = decideChange(request.previous(name), columns, groups);
  if (change.kind === "unchanged") return { table: name, columns, groups, change, written: null };
  const loadIds = change.kind === "append" ? change.loadIds : [...groups.keys()];
  const where = change.kind === "append" ? ` WHERE ${loadId} IN (${loadIds.map(quoteLiteral).join(", ")})` : "";
  const temp = join(request.tempDir, `${name}.parquet`);
  const select = columns.map((column) => exportedColumn(column)).join(", ");
  const order = hasLoadId ? ` ORDER BY ${quoteIdent(loadIdColumn)}` : "";
  await session.run(`COPY (SELECT ${select} FROM ${table}${where}${order}) TO ${quoteLiteral(temp)} (FORMAT parquet, COMPRESSION snappy)`);
  return { table: name, columns, groups, change, written: { temp, loadIds } };
}

/**
 * A column as Parquet gets it, exact: DuckDB writes HUGEINT as a DOUBLE, so it goes as
 * DECIMAL(38,0); JSON goes as its text. Other types (BIGINT, DECIMAL, TIMESTAMPTZ as a UTC
 * timestamp) map to Parquet as they are.
 */
function exportedColumn({ name, type }: Column): string {
  const column = quoteIdent(name);
  if (type === "HUGEINT" || type === "UHUGEINT") return `CAST(${column} AS DECIMAL(38,0)) AS ${column}`;
  if (type === "JSON") return `CAST(${column} AS VARCHAR) AS ${column}`;
  return column;
}
