// What an export does with one table, decided from the rows' hashes per load id: nothing, add one
// file, or write a new complete set.
import type { Column, Generation } from "./generations.ts";

/** A table's rows grouped by `_rl_load_id`: how many, and the sum of their hashes (a decimal integer). */
export type LoadGroups = ReadonlyMap<string, { readonly rows: number; readonly hash: string }>;

/** Past this many files an append table is rewritten as one file, so readers do not open ever more files. */
export const compactAfterFiles = 64;

export type Change =
  | { readonly kind: "unchanged" }
  /** Only rows of new load ids arrived, and every exported file still matches its rows: add one file of them. */
  | { readonly kind: "append"; readonly loadIds: readonly string[] }
  /** Rows changed (a merge, a replace, scd2 retirements), columns changed, or first export: a new complete set. */
  | { readonly kind: "rewrite"; readonly reason: string };

/**
 * How the table differs from what its current generation holds. Each exported file lists its load
 * ids with their row count and hash sum; if all still add up, those rows are as exported, and any
 * other load id is new (an append). Any row updated, deleted or re-stamped by a merge changes the
 * sums of its load ids.
 *
 * @example
 * decideChange(null, columns, groups) // { kind: "rewrite", reason: "first export" }
 */
export function decideChange(previous: Generation | null, columns: readonly Column[], groups: LoadGroups): Change {
  if (previous === null) return { kind: "rewrite", reason: "first export" };
  if (!sameColumns(previous.columns, columns)) return { kind: "rewrite", reason: "columns changed" };
  const exported = new Set<string>();
  for (const file of previous.files) {
    let rows = 0;
    let hash = 0n;
    for (const id of file.load_ids) {
      exported.add(id);
      const group = groups.get(id);
      rows += group?.rows ?? 0;
      hash += BigInt(group?.hash ?? "0");
    }
    if (rows !== file.rows || hash !== BigInt(file.hash)) return { kind: "rewrite", reason: "rows changed" };
  }
  const loadIds = [...groups.keys()].filter((id) => !exported.has(id)).sort();
  if (loadIds.length === 0) return { kind: "unchanged" };
  if (previous.files.length >= compactAfterFiles) return { kind: "rewrite", reason: `${compactAfterFiles} files already` };
  return { kind: "append", loadIds };
}

function sameColumns(a: readonly Column[], b: readonly Column[]): boolean {
  return a.length === b.length && a.every((column, index) => column.name === b[index]?.name && column.type === b[index]?.type);
}
