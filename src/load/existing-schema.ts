// Reads the data tables and columns already in the dataset.
import type { Session } from "../db/session.ts";
import { type DataType, fromDuckdbType } from "../normalize/types.ts";
import { isSystemTable } from "../state/system-tables.ts";

/** table -> column -> type, for every data table of `dataset`. */
export async function readExistingSchema(session: Session, dataset: string): Promise<Map<string, Map<string, DataType>>> {
  const rows = await session.all(
    `SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? ORDER BY table_name, column_index`,
    [session.catalog, dataset],
  );
  const tables = new Map<string, Map<string, DataType>>();
  for (const row of rows) {
    const table = String(row.table_name);
    if (isSystemTable(table)) continue;
    let columns = tables.get(table);
    if (!columns) tables.set(table, (columns = new Map()));
    // A column of a type restload does not write (created by hand) is treated as text: values that
    // are not strings go to variant columns rather than failing the load.
    columns.set(String(row.column_name), fromDuckdbType(String(row.data_type)) ?? "text");
  }
  return tables;
}
