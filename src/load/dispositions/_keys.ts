// What the dispositions that match rows by key check of the keys before matching any: every key
// column exists, every record of the load had a key of its column's type, and no key is JSON.
import { RestloadError } from "../../errors.ts";
import { quoteIdent } from "../../db/session.ts";
import type { Table } from "../../normalize/schema.ts";
import type { TableGroup, UnitWrites } from "./types.ts";

/** Every key column is in the table, and every record of this load had a key of the column's type. */
export function checkKeys({ planned, keys }: TableGroup, hasColumn: (column: string) => boolean): void {
  const resource = planned.resource;
  for (const key of [...planned.primary_key, ...planned.merge_key]) {
    if (!hasColumn(key)) {
      throw new RestloadError("E_LOAD", `Cannot merge resource "${resource}" as its key column "${key}" is in none of its records`, {
        hint: "Check primary_key / merge_key: they name fields of the records.",
        context: { resource },
      });
    }
  }
  const { missing, mistyped } = keys;
  if (mistyped > 0) {
    throw new RestloadError(
      "E_LOAD",
      `Cannot merge resource "${resource}" as ${mistyped === 1 ? "1 record" : `${mistyped} records`} for its table "${planned.name}" ${mistyped === 1 ? "has" : "have"} a value for ${planned.primary_key.join(", ")} of another type than the key column (it went to a variant column <column>__v_<type>)`,
      {
        hint: 'A key must keep one type: check what the API sends, or give the key column a type that takes every value (columns.<field> = { data_type = "text" }).',
        context: { resource },
      },
    );
  }
  if (missing > 0) {
    throw new RestloadError(
      "E_LOAD",
      `Cannot merge resource "${resource}" as ${missing === 1 ? "1 record" : `${missing} records`} for its table "${planned.name}" ${missing === 1 ? "has" : "have"} no value for ${planned.primary_key.join(", ")}`,
      {
        hint: "Records to merge need their key; check primary_key / merge_key.",
        context: { resource },
      },
    );
  }
}

/** Rows of earlier loads are matched by `keyColumns`: a JSON key does not compare by value, so it is refused. */
export function checkKeyTypes(unit: UnitWrites, { planned }: TableGroup, root: Table, keyColumns: readonly string[]): void {
  if (!unit.existedBefore(root.name) || !keyColumns.some((key) => root.columns.get(key)?.type === "json")) return;
  throw new RestloadError("E_LOAD", `Cannot merge resource "${planned.resource}" on a JSON key`, {
    context: { resource: planned.resource },
  });
}

/** `a.k1 = b.k1 AND a.k2 = b.k2`: rows `a` and `b` have the same key. */
export function sameKey(a: string, b: string, keyColumns: readonly string[]): string {
  return keyColumns.map((key) => `${a}.${quoteIdent(key)} = ${b}.${quoteIdent(key)}`).join(" AND ");
}
