// A load's rows held back in temporary tables until its checkpoint ends, for the dispositions that
// change rows already in the table (upsert, scd2): they compare the whole load with the table once
// every row is in, after the checkpoint's last ALTER TABLE (see `types.ts`). Temporary tables are
// the connection's own and go with a ROLLBACK.
import { quoteIdent } from "../../db/session.ts";
import { duckdbType } from "../../normalize/types.ts";
import type { SegmentLoad, TableGroup, UnitWrites } from "./types.ts";

/** The temporary table holding this load's rows of `table`, with their sequence column. */
export function stagedTable(table: string): string {
  return `temp.main.${quoteIdent(stagedName(table))}`;
}

/** Copies a segment's rows, its sequence column included, into its table's staged table; returns the rows copied. */
export async function stageSegment(unit: UnitWrites, { table, segment, read }: SegmentLoad): Promise<number> {
  const { session } = unit;
  const staged = stagedTable(table.name);
  await session.run(`CREATE TEMP TABLE IF NOT EXISTS ${staged} AS SELECT * FROM (${read}) LIMIT 0`);
  // A later segment of a table that gained a column has it too.
  const have = await stagedColumns(unit, table.name);
  for (const name of segment.columns) {
    if (have.has(name)) continue;
    const column = table.columns.get(name)!;
    await session.run(`ALTER TABLE ${staged} ADD COLUMN ${quoteIdent(name)} ${duckdbType(column.type, column.hint)}`);
  }
  return session.changes(`INSERT INTO ${staged} BY NAME SELECT * FROM (${read})`);
}

/** The columns of `table`'s staged table. */
export async function stagedColumns(unit: UnitWrites, table: string): Promise<Set<string>> {
  const rows = await unit.session.all(
    "SELECT column_name FROM duckdb_columns() WHERE database_name = 'temp' AND schema_name = 'main' AND table_name = ?",
    [stagedName(table)],
  );
  return new Set(rows.map((row) => String(row.column_name)));
}

/** The group's tables this load staged rows for. */
export function stagedTables(unit: UnitWrites, group: TableGroup): string[] {
  return unit.tablesOf(group).filter((name) => unit.written[name] !== undefined);
}

/** Drops the staged tables of `tables` (and any other temporary table named). */
export async function dropStaged(unit: UnitWrites, tables: readonly string[], others: readonly string[] = []): Promise<void> {
  for (const table of [...tables.map(stagedTable), ...others]) await unit.session.run(`DROP TABLE IF EXISTS ${table}`);
}

// internal

function stagedName(table: string): string {
  return `_rl_staged__${table}`;
}
