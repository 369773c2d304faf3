// The tables a plan writes, and the one rule for which resource governs a table: its write
// disposition, its keys, whether child rows carry root ids and whether root rows are versions.
// Decided here and nowhere else, with the problems of a resource's disposition and keys.
import { normalizeIdentifier } from "../normalize/naming.ts";
import { type Problem, RestloadError } from "../errors.ts";
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
  /**
   * Root rows are versions (merge strategy "scd2"): `_rl_id` is a hash of the record's content, and
   * the table has the validity columns `<prefix>valid_from` and `<prefix>valid_to`.
   */
  readonly row_versions: boolean;
  /**
   * scd2: a current row whose version is absent from a load is retired (its valid_to set). Only when
   * each load is a complete extract: see `retiresAbsentRows`.
   */
  readonly retire_absent_rows: boolean;
}

/** What the plan knows of a resource when it plans its table. */
type TableRules = Pick<PlannedResource, "name" | "write_disposition" | "primary_key" | "merge_key"> & ExtractRules;

/** What tells whether each load of a resource is a complete extract of its source. */
export type ExtractRules = Pick<PlannedResource, "parent" | "paginator" | "response_actions"> & {
  /** Its incremental cursor, if any (only whether it has one matters here). */
  readonly incremental: object | null;
};

/** The table `resource` writes, governed by it. */
export function plannedTable(resource: TableRules, names: { readonly table: string; readonly unit: string }): PlannedTable {
  return {
    name: names.table,
    unit: names.unit,
    resource: resource.name,
    disposition: resource.write_disposition,
    primary_key: resource.primary_key.map(keyColumn),
    merge_key: resource.merge_key.map(keyColumn),
    root_ids: resource.write_disposition.disposition === "merge",
    row_versions: resource.write_disposition.strategy === "scd2",
    retire_absent_rows: retiresAbsentRows(resource),
  };
}

/**
 * Whether an scd2 table retires the current rows a load lacks. As dlt, scd2 expects a complete
 * extract each run; restload retires absent rows only when it has one (`partialExtract` is null)
 * and the resource has no merge_key (which, as dlt, retires only rows whose merge_key the load has).
 */
export function retiresAbsentRows(resource: Pick<TableRules, "write_disposition" | "merge_key"> & ExtractRules): boolean {
  return resource.write_disposition.strategy === "scd2" && resource.merge_key.length === 0 && partialExtract(resource) === null;
}

/**
 * Why a load of `resource` may lack records its source still has, or null when each load is a
 * complete extract: a root resource without an incremental cursor, whose pages end only where
 * the source's do. A page limit (`maximum_page`, `maximum_offset`) or a response it may ignore
 * (`response_actions`, action "ignore") can end them early, on purpose. The reason completes
 * "as …" in `check`'s warnings.
 *
 * @example
 * partialExtract({ ...root, paginator: { type: "page_number", maximum_page: 5, … } })
 * // "its paginator stops at maximum_page = 5, which may come before the last record"
 */
export function partialExtract(resource: ExtractRules): string | null {
  if (resource.parent !== null) return "it is a child resource, whose records come per parent record";
  if (resource.incremental !== null) return "its incremental cursor fetches only what changed";
  const limit = pageLimit(resource.paginator);
  if (limit !== null) return `its paginator stops at ${limit}, which may come before the last record`;
  if (resource.response_actions.some((action) => action.action === "ignore"))
    return 'a response it ignores (response_actions, action = "ignore") leaves that page\'s records out and may end its pages';
  return null;
}

/**
 * The problems of a resource's write disposition and keys: upsert updates the row of each primary
 * key, so it needs one, and takes no merge_key (as dlt). The draft does not tell whether a setting
 * is the resource's own or came from resource_defaults: the message says it may be either.
 */
export function writeProblems(resource: Pick<PlannedResource, "index" | "write_disposition" | "primary_key" | "merge_key">): Problem[] {
  if (resource.write_disposition.strategy !== "upsert") return [];
  const problems: Problem[] = [];
  const of = `of resources[${resource.index}] (from resource_defaults when not set on the resource)`;
  if (resource.primary_key.length === 0)
    problems.push({
      path: `resources[${resource.index}].write_disposition.strategy`,
      message: `the merge strategy "upsert" ${of} updates the row of each primary key: set primary_key (or use "delete-insert")`,
    });
  if (resource.merge_key.length > 0)
    problems.push({
      path: `resources[${resource.index}].merge_key`,
      message: `merge_key ${of} does not apply to the merge strategy "upsert", which updates by primary_key: remove merge_key (or use "delete-insert")`,
    });
  return problems;
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

/** The setting that stops a paginator before the source's last page, as `check` names it. */
function pageLimit(paginator: ExtractRules["paginator"]): string | null {
  if (paginator.type === "page_number" && paginator.maximum_page !== null) return `maximum_page = ${paginator.maximum_page}`;
  if (paginator.type === "offset" && paginator.maximum_offset !== null) return `maximum_offset = ${paginator.maximum_offset}`;
  return null;
}

/** A key as the pipeline names it (a dotted path) -> its column. */
function keyColumn(key: string): string {
  return key.split(".").map(normalizeIdentifier).join("__");
}
