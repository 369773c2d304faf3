// The contract every write disposition implements, and what a unit's writer lends to it.
import type { Session } from "../../db/session.ts";
import type { SystemColumns } from "../../normalize/system-columns.ts";
import type { KeyStats } from "../../normalize/table-keys.ts";
import type { Schema, Table } from "../../normalize/schema.ts";
import type { PlannedTable } from "../../plan/tables.ts";
import type { Segment } from "../stage.ts";

/** A planned root table with what normalisation has seen of its keys in this load. */
export interface TableGroup {
  readonly planned: PlannedTable;
  /** What normalisation has seen of the primary keys so far (duplicates, missing values). */
  readonly keys: KeyStats;
}

/** A unit's writes so far, as its writer lends them to a disposition. */
export interface UnitWrites {
  readonly session: Session;
  readonly schema: Schema;
  readonly system: SystemColumns;
  /** The load id of the checkpoint being written. */
  readonly loadId: string;
  /** Rows this load (checkpoint) wrote per table so far; a disposition may correct them at the end. */
  readonly written: Record<string, number>;
  /** The qualified name of a table of the dataset. */
  target(table: string): string;
  /** The tables a group writes: those it staged rows in, and those it governed before the unit. */
  tablesOf(group: TableGroup): string[];
  /** The group's child tables in the database that link rows to their root row. */
  childTables(group: TableGroup): string[];
  /** Whether `table` held committed rows before this load: it existed before the unit, or an earlier checkpoint of the unit created it. */
  existedBefore(table: string): boolean;
  /** `SELECT count(*) FROM <from>`. */
  count(from: string): Promise<number>;
}

/** One complete segment, its columns already in the database. */
export interface SegmentLoad {
  readonly group: TableGroup;
  /** The table its rows go to: the group's root table or one of its child tables. */
  readonly table: Table;
  readonly segment: Segment;
  /** The SQL reading the segment (read_csv), its sequence column included. */
  readonly read: string;
}

/**
 * What a write disposition does: as each segment is loaded, and once at the end of the unit.
 * `finish` runs after every column the unit adds: DuckDB refuses to commit a transaction that
 * deleted committed rows of a table and then altered it.
 */
export interface Disposition {
  /** Loads one segment; returns how many rows went in. */
  loadSegment(unit: UnitWrites, load: SegmentLoad): Promise<number>;
  /** What happens to the rows of earlier loads, once all of this load's rows are in. */
  finish(unit: UnitWrites, group: TableGroup): Promise<void>;
}
