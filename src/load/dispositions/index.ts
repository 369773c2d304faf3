// The write dispositions, one file each behind one contract (`types.ts`), chosen per planned table.
import type { PlannedTable } from "../../plan/tables.ts";
import { append } from "./append.ts";
import { merge } from "./merge.ts";
import { replace } from "./replace.ts";
import type { Disposition } from "./types.ts";

export type * from "./types.ts";

/** How a table's rows are written: by its governing resource's disposition; `--full-refresh` replaces every table of the unit. */
export function dispositionOf(table: PlannedTable, options: { readonly fullRefresh: boolean }): Disposition {
  if (options.fullRefresh) return replace;
  switch (table.disposition.disposition) {
    case "append":
      return append;
    case "merge":
      return merge;
    case "replace":
      return replace;
  }
}
