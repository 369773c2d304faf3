// The write dispositions, one file each behind one contract (`types.ts`), chosen per planned table.
import type { PlannedTable } from "../../plan/tables.ts";
import { append } from "./append.ts";
import { merge } from "./merge.ts";
import { refreshing, replace } from "./replace.ts";
import { scd2 } from "./scd2.ts";
import type { Disposition } from "./types.ts";
import { upsert } from "./upsert.ts";

export type * from "./types.ts";

/**
 * How a table's rows are written: by its governing resource's disposition and merge strategy.
 * `--full-refresh` replaces every table of the unit; upsert and scd2 still shape what goes in.
 */
export function dispositionOf(table: PlannedTable, options: { readonly fullRefresh: boolean }): Disposition {
  const chosen = ofTable(table);
  if (!options.fullRefresh) return chosen;
  return chosen === upsert || chosen === scd2 ? refreshing(chosen) : replace;
}

// internal

function ofTable({ disposition }: PlannedTable): Disposition {
  switch (disposition.disposition) {
    case "append":
      return append;
    case "replace":
      return replace;
    case "merge":
      switch (disposition.strategy) {
        case "upsert":
          return upsert;
        case "scd2":
          return scd2;
        default:
          return merge;
      }
  }
}
