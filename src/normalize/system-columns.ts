// The columns restload adds to every table it writes (load id, row ids, list index), and the
// validity columns that make an scd2 table's root rows versions: their names and where each goes.
import type { Column } from "./schema.ts";

export interface SystemColumns {
  readonly loadId: string;
  readonly id: string;
  readonly parentId: string;
  readonly listIdx: string;
  readonly rootId: string;
  /** scd2 tables: when a root row's version became current, and when it stopped being (NULL while current). */
  readonly validFrom: string;
  readonly validTo: string;
}

/** What decides a table's system columns besides root or child: the resource's rules for rows. */
export interface RowRules {
  /** Child rows carry their root row's id (merge tables). */
  readonly rootIds: boolean;
  /** Root rows are versions (scd2): the root table has the validity columns. */
  readonly rowVersions: boolean;
}

/** System column names for a `system_prefix` (`_rl_` gives `_rl_id`, `_rl_load_id`, …). */
export function systemColumns(prefix: string): SystemColumns {
  return {
    loadId: `${prefix}load_id`,
    id: `${prefix}id`,
    parentId: `${prefix}parent_id`,
    listIdx: `${prefix}list_idx`,
    rootId: `${prefix}root_id`,
    validFrom: `${prefix}valid_from`,
    validTo: `${prefix}valid_to`,
  };
}

/**
 * The names a record's top-level field may not take (it gets a hash suffix instead). The validity
 * columns are system columns of scd2 tables only: elsewhere a field may take the name.
 */
export function reservedNames(system: SystemColumns, rules: Pick<RowRules, "rowVersions">): Set<string> {
  const { validFrom: _from, validTo: _to, ...always } = system;
  return new Set(Object.values(rules.rowVersions ? system : always));
}

/**
 * The system columns of a root table or a child table, in the order they are created.
 *
 * @example
 * tableSystemColumns(systemColumns("_rl_"), "root", { rootIds: false, rowVersions: false })
 * // [{ name: "_rl_load_id", type: "text" }, { name: "_rl_id", type: "text" }]
 */
export function tableSystemColumns(system: SystemColumns, table: "root" | "child", rules: RowRules): Column[] {
  if (table === "root") {
    const columns: Column[] = [
      { name: system.loadId, type: "text" },
      { name: system.id, type: "text" },
    ];
    if (rules.rowVersions) columns.push({ name: system.validFrom, type: "timestamp" }, { name: system.validTo, type: "timestamp" });
    return columns;
  }
  const columns: Column[] = [
    { name: system.parentId, type: "text" },
    { name: system.listIdx, type: "bigint" },
    { name: system.id, type: "text" },
  ];
  if (rules.rootIds) columns.push({ name: system.rootId, type: "text" });
  return columns;
}
