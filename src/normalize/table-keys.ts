// The primary keys a table receives in a load, as a merge needs to know them: repeated, missing,
// or of another type than their column.
import { KeySet } from "./key-set.ts";
import { type DataType, timestampMicros } from "./types.ts";

/** What a merge needs to know about the keys of the rows normalised so far. */
export interface KeyStats {
  /** A primary key value came twice: the load must keep only the last record of each key. */
  duplicates: boolean;
  /** Records without a value for the primary key. */
  missing: number;
  /** Records whose key value has another type than the key column (it went to a variant column). */
  mistyped: number;
}

/**
 * The primary keys one table has received in a load so far. Resources of a unit that write the
 * same table share one, so a key repeated across them is caught too.
 */
export class TableKeys implements KeyStats {
  duplicates = false;
  missing = 0;
  mistyped = 0;
  private seen = new KeySet();

  /**
   * Counts one record's key, given as the values of its key columns, each as the database compares
   * it (see `keyPart`). `mistyped`: a missing part went to a variant column.
   */
  track(parts: readonly unknown[], mistyped = false): void {
    if (parts.some((part) => part === null || part === undefined)) {
      if (mistyped) this.mistyped++;
      else this.missing++;
      return;
    }
    const key = parts.length === 1 ? parts[0] : JSON.stringify(parts, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
    if (this.seen.seen(key)) this.duplicates = true;
  }

  /** A new load (the unit's next checkpoint) starts: its keys are tracked afresh. */
  reset(): void {
    this.duplicates = false;
    this.missing = 0;
    this.mistyped = 0;
    this.seen = new KeySet();
  }
}

/** A key value as the database compares it: an instant or a decimal by its value, not its spelling. */
export function keyPart(type: DataType | undefined, value: unknown): unknown {
  if (typeof value !== "string") return value;
  if (type === "timestamp") return timestampMicros(value) ?? value;
  if (type === "decimal") {
    const number = Number(value);
    return Number.isFinite(number) ? number : value;
  }
  return value;
}
