// The tables a plan writes, and the one rule for which resource governs a table: its write
// disposition, its keys and whether child rows carry root ids. Decided here and nowhere else.
import { normalizeIdentifier } from "../normalize/naming.ts";
import { RestloadError } from "../errors.ts";
import type { Plan, PlannedResource, PlannedWriteDisposition } from "./types.ts";

/**
 * A root table of a load unit (a `table_name`) as its governing resource says to write it. Child
 * tables (`<table>__<field>`) come from the data at run time and follow `governingTable`.
 */
export interface PlannedTable {
  /** Normalised table name. */
  readonly name: string;
  /** The load unit that writes it: two units never share a table. */
  readonly unit: string;
  /** The governing resource: the unit's first resource (parents before children) with this table name. */
  readonly resource: string;
  readonly disposition: PlannedWriteDisposition;
  /** The governing resource's primary key, as normalised column names (`user.id` -> `user__id`). */
  readonly primary_key: readonly string[];
  /** Its merge key, as normalised column names. */
  readonly merge_key: readonly string[];
  /** Child rows carry their root row's id (merge tables, so child rows go with their root row). */
  readonly root_ids: boolean;
}

/** The table `resource` writes, governed by it. */
export function plannedTable(
  resource: Pick<PlannedResource, "name" | "write_disposition" | "primary_key" | "merge_key">,
  names: { readonly table: string; readonly unit: string },
): PlannedTable {
  return {
    name: names.table,
    unit: names.unit,
    resource: resource.name,
    disposition: resource.write_disposition,
    primary_key: resource.primary_key.map(keyColumn),
    merge_key: resource.merge_key.map(keyColumn),
    root_ids: resource.write_disposition.disposition === "merge",
  };
}

/**
 * The planned table whose rules `table` follows: the one whose name is the table's longest prefix
 * (`issues__labels` follows `issues`, unless a resource loads `issues__labels` itself). Undefined
 * for a table no resource's name prefixes (a name shortened past 63 characters).
 *
 * @example
 * governingTable(plan.tables, "issues__labels__items")?.resource // "issues"
 */
export function governingTable(tables: readonly PlannedTable[], table: string): PlannedTable | undefined {
  let best: PlannedTable | undefined;
  for (const candidate of tables) {
    const name = candidate.name;
    if ((table === name || table.startsWith(`${name}__`)) && (best === undefined || name.length > best.name.length)) best = candidate;
  }
  return best;
}

/**
 * The planned table whose rules a table a unit stages rows in follows: its governing table when a
 * resource of this unit governs it, else (a child table named like another unit's table, or a name
 * shortened past its prefix) the table of the resource whose rows reached it first.
 */
export function governingTableInUnit(
  plan: Pick<Plan, "tables" | "resources">,
  staged: { readonly unit: string; readonly table: string; readonly firstRowsOf: string },
): PlannedTable {
  const governing = governingTable(plan.tables, staged.table);
  if (governing !== undefined && governing.unit === staged.unit) return governing;
  const table = plan.resources.find((resource) => resource.name === staged.firstRowsOf)?.table;
  const own = table == null ? undefined : plannedTableNamed(plan.tables, table);
  if (own === undefined)
    throw new RestloadError("E_INTERNAL", `Resource "${staged.firstRowsOf}" staged rows in table "${staged.table}" but writes no table`);
  return own;
}

/** The planned table named `name` (a resource's `table`). */
export function plannedTableNamed(tables: readonly PlannedTable[], name: string): PlannedTable | undefined {
  return tables.find((table) => table.name === name);
}

// internal

/** A key as the pipeline names it (a dotted path) -> its column. */
function keyColumn(key: string): string {
  return key.split(".").map(normalizeIdentifier).join("__");
}
