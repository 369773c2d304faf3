// The part of an export that holds the database: open it read-only (waiting out another
// process's lock), group each table's rows by load id with their hash sums, COPY what changed to
// Parquet files in a temp folder, close. Publishing happens after the database is closed.
import { join } from "node:path";
import { openDatabase } from "../db/open.ts";
import { quoteIdent, quoteLiteral, Session } from "../db/session.ts";
import { RestloadError } from "../errors.ts";
import { systemColumns } from "../normalize/system-columns.ts";
import { isSystemTable } from "../state/system-tables.ts";
import { type Change, decideChange, type LoadGroups } from "./change.ts";
import type { Column, Generation } from "./generations.ts";
import { partialName } from "./layout.ts";
import { Lineage, type LoadIdSource } from "./lineage.ts";

/** The most a Parquet row group holds before DuckDB starts the next (its default of 122,880 rows per group ignores their width). */
const rowGroupBytes = "16MB";

export interface ReadRequest {
  readonly database: string;
  readonly dataset: string;
  readonly lockTimeoutMs: number;
  readonly memoryLimit: string;
  /** The pipeline's `system_prefix`: which columns hold load ids and row ids. */
  readonly systemPrefix: string;
  /** Whether a data table is exported. */
  readonly inScope: (table: string) => boolean;
  /** The generation each table has published now. */
  readonly previous: (table: string) => Generation | null;
  /** The temp folder Parquet files are written to (named by `partialName`). */
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
    // Tables only (views have columns too), in name order.
    const columns = new Map<string, Column[]>();
    for (const row of await session.all(
      `SELECT c.table_name, c.column_name, c.data_type FROM duckdb_columns() AS c
       JOIN duckdb_tables() AS t USING (database_name, schema_name, table_name)
       WHERE c.database_name = ? AND c.schema_name = ? ORDER BY c.table_name, c.column_index`,
      [session.catalog, request.dataset],
    )) {
      const name = String(row.table_name);
      if (isSystemTable(name)) continue;
      if (!columns.has(name)) columns.set(name, []);
      columns.get(name)?.push({ name: String(row.column_name), type: String(row.data_type) });
    }
    const lineage = new Lineage(session, request.dataset, systemColumns(request.systemPrefix), columns);
    const tables: ReadTable[] = [];
    for (const [name, tableColumns] of columns) {
      if (!request.inScope(name)) continue;
      try {
        tables.push(await readTable(session, request, name, tableColumns, await lineage.of(name)));
      } catch (error) {
        throw tableError(name, error);
      }
    }
    return { tables, datasetFound: found.length > 0 };
  } finally {
    database.close();
  }
}

// internal

async function readTable(
  session: Session,
  request: ReadRequest,
  name: string,
  columns: readonly Column[],
  source: LoadIdSource,
): Promise<ReadTable> {
  const hashed = columns.map((column) => `t.${quoteIdent(column.name)}`).join(", ");
  const groups: LoadGroups = new Map(
    (
      await session.all(
        `SELECT ${source.loadId} AS id, count(*) AS n, sum(hash(${hashed})::HUGEINT)::VARCHAR AS h FROM ${source.from} GROUP BY 1 ORDER BY 1`,
      )
    ).map((row) => [String(row.id), { rows: Number(row.n), hash: String(row.h) }]),
  );
  const change = decideChange(request.previous(name), columns, groups);
  if (change.kind === "unchanged") return { table: name, columns, groups, change, written: null };
  const loadIds = change.kind === "append" ? change.loadIds : [...groups.keys()];
  const where = change.kind === "append" ? ` WHERE ${source.loadId} IN (${loadIds.map(quoteLiteral).join(", ")})` : "";
  const temp = join(request.tempDir, partialName(name));
  const select = columns.map((column) => exportedColumn(column)).join(", ");
  // No ORDER BY, and row groups capped in bytes: a sort, or DuckDB's default row groups of wide
  // rows on each thread, outgrow the default 128MB memory limit on tables of a million rows.
  await session.run(
    `COPY (SELECT ${select} FROM ${source.from}${where}) TO ${quoteLiteral(temp)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE_BYTES '${rowGroupBytes}')`,
  );
  return { table: name, columns, groups, change, written: { temp, loadIds } };
}

/**
 * A column as Parquet gets it, exact: DuckDB writes HUGEINT as a DOUBLE, so it goes as
 * DECIMAL(38,0); JSON goes as its text. Other types (BIGINT, DECIMAL, TIMESTAMPTZ as a UTC
 * timestamp) map to Parquet as they are.
 */
function exportedColumn({ name, type }: Column): string {
  const column = `t.${quoteIdent(name)}`;
  const as = quoteIdent(name);
  if (type === "HUGEINT" || type === "UHUGEINT") return `CAST(${column} AS DECIMAL(38,0)) AS ${as}`;
  if (type === "JSON") return `CAST(${column} AS VARCHAR) AS ${as}`;
  return `${column} AS ${as}`;
}

/** A table that could not be read or written, named, with what to do. */
function tableError(table: string, error: unknown): RestloadError {
  // The export folder's own errors (a table folder that is not ours) already say what to do.
  if (error instanceof RestloadError && error.code !== "E_SQL") return error;
  const message = String((error as Error).message).split("\n")[0] ?? "";
  const unchanged = "Nothing was published: every table folder keeps its previous set.";
  return new RestloadError("E_SQL", `Cannot export table "${table}": ${message}`, {
    hint: message.includes("DECIMAL(38,0)")
      ? `${unchanged} A HUGEINT value of more than 38 digits cannot be a Parquet DECIMAL: give that field a text column (columns.<field> = { data_type = "text" }) and reload it.`
      : `${unchanged} Check the table with restload sql, and the disk holding the export folder (free space).`,
    cause: error,
  });
}
