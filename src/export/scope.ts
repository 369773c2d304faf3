// Which data tables an export covers: every table of the dataset, or with `--select` the tables
// of the selected root resources' load units (their root tables and child tables).
import type { Plan, PlannedResource } from "../plan/index.ts";
import { governingTable } from "../plan/tables.ts";

/** Whether `table` is in scope: always without a selection, else when a selected unit governs it. */
export function inExportScope(plan: Pick<Plan, "tables">, roots: readonly PlannedResource[] | undefined, table: string): boolean {
  if (roots === undefined) return true;
  const units = new Set(roots.map((root) => root.unit));
  const governing = governingTable(plan.tables, table);
  return governing !== undefined && units.has(governing.unit);
}
