// Where a load unit may commit a checkpoint (its safe points): at the end of each window, at root
// page boundaries when the root's records arrive in cursor order, or only once at its end.
import type { LoadUnit, Plan, PlannedResource } from "./types.ts";

/**
 * How a unit checkpoints. `windows`: at the end of each of its root's windows; `pages`: at a root
 * page boundary once the child chains of the records so far are done (records in cursor order);
 * `end`: once, at the end of the unit, for `reason`.
 */
export type UnitCheckpoints =
  | { readonly mode: "windows" }
  | { readonly mode: "pages"; readonly cursor_path: string }
  | { readonly mode: "end"; readonly reason: string };

/**
 * The safe points of `unit` (the end of the unit is always one), for a run with or without
 * `--full-refresh` (which replaces the unit's tables, so it commits once).
 *
 * @example
 * unitCheckpoints(plan, unit) // { mode: "pages", cursor_path: "updated_at" }
 */
export function unitCheckpoints(
  plan: Pick<Plan, "resources" | "tables" | "checkpoint_interval">,
  unit: LoadUnit,
  run: { readonly fullRefresh?: boolean } = {},
): UnitCheckpoints {
  if (run.fullRefresh) return { mode: "end", reason: "--full-refresh replaces the unit's tables" };
  if (plan.checkpoint_interval === 0) return { mode: "end", reason: "checkpoint_interval = 0" };
  const replaced = plan.tables.find((table) => table.unit === unit.name && table.disposition.disposition === "replace");
  if (replaced) return { mode: "end", reason: `table "${replaced.name}" is replaced (write_disposition = "replace")` };
  // Retiring the rows a load lacks needs the whole extract in one load.
  const retiring = plan.tables.find((table) => table.unit === unit.name && table.retire_absent_rows);
  if (retiring) return { mode: "end", reason: `table "${retiring.name}" retires the records its extract lacks (strategy = "scd2")` };
  const root = plan.resources.find((resource) => resource.name === unit.name);
  const incremental = root?.incremental;
  if (!root || !incremental) return { mode: "end", reason: "the root resource has no incremental cursor" };
  if (incremental.window !== null) return { mode: "windows" };
  // A backfill range (end_value) leaves the stored cursor alone: there is nothing to resume from.
  if (incremental.end_value !== null) return { mode: "end", reason: "end_value leaves the stored cursor alone" };
  // An open range drops records equal to the stored cursor: a record on the next page with the
  // value a page boundary stored would be lost. A closed range keeps them (deduplicated by key).
  if (incremental.range_start !== "closed")
    return {
      mode: "end",
      reason: 'range_start = "open" would drop records tied with a page boundary\'s cursor (set range_start = "closed")',
    };
  if (!inCursorOrder(root))
    return { mode: "end", reason: `records are not in cursor order (set row_order = "${ascending(root) ? "asc" : "desc"}" if they are)` };
  return { mode: "pages", cursor_path: incremental.cursor_path };
}

/** `check`'s line: `checkpoints: at page boundaries (ordered by updated_at)`. */
export function checkpointsText(checkpoints: UnitCheckpoints): string {
  switch (checkpoints.mode) {
    case "windows":
      return "checkpoints: at window ends";
    case "pages":
      return `checkpoints: at page boundaries (ordered by ${checkpoints.cursor_path})`;
    case "end":
      return `checkpoints: once at the end: ${checkpoints.reason}`;
  }
}

// internal

/** `row_order` agrees with `last_value_func`: asc with max, desc with min. */
function inCursorOrder(resource: PlannedResource): boolean {
  const incremental = resource.incremental!;
  return incremental.row_order !== null && (incremental.row_order === "asc") === ascending(resource);
}

function ascending(resource: PlannedResource): boolean {
  return resource.incremental!.last_value_func === "max";
}
