// Schema evolution in the database: CREATE TABLE for a table a unit adds, ALTER TABLE ADD COLUMN
// for the columns it adds, which columns each table has in the database now, and the changes the
// open transaction made (what its checkpoint reports and stores in `_rl_loads.schema_changes`).
import { type Session, quoteIdent } from "../db/session.ts";
import type { Schema, Table } from "../normalize/schema.ts";
import { duckdbType } from "../normalize/types.ts";
import type { SchemaChange } from "../state/runs.ts";

/** The columns each table has in the database, this unit's open transaction included. */
export class DatabaseColumns {
  private readonly inDatabase = new Map<string, Set<string>>();
  /** Tables and columns created in the open transaction, in the order they were. */
  private changes: SchemaChange[] = [];

  constructor(
    private readonly context: {
      readonly session: Session;
      /** The qualified name of a table of the dataset. */
      readonly target: (table: string) => string;
      /** Read before the unit normalises anything: an existing table's columns are the database's. */
      readonly schema: Schema;
    },
  ) {
    for (const table of context.schema.tables.values()) if (!table.isNew) this.inDatabase.set(table.name, new Set(table.columns.keys()));
  }

  /** Whether `table` has `column` in the database now. */
  has(table: string, column: string): boolean {
    return this.inDatabase.get(table)?.has(column) === true;
  }

  /**
   * The changes made since the last call: taken when a checkpoint commits them (stored with it),
   * or dropped when it rolls back.
   */
  takeChanges(): SchemaChange[] {
    return this.changes.splice(0);
  }

  /** CREATE TABLE for a new table, ALTER TABLE ADD COLUMN for those of `columns` the database lacks. */
  async materialize(table: Table, columns: readonly string[]): Promise<void> {
    const { session, target } = this.context;
    const present = this.inDatabase.get(table.name);
    if (present === undefined) {
      if (table.columns.size === 0) return;
      const all = [...table.columns.values()];
      await session.run(
        `CREATE TABLE IF NOT EXISTS ${target(table.name)} (${all.map((column) => `${quoteIdent(column.name)} ${duckdbType(column.type, column.hint)}`).join(", ")})`,
      );
      this.inDatabase.set(table.name, new Set(all.map((column) => column.name)));
      // Its columns come with it: one change, not one per column.
      this.changes.push({ table: table.name, column: null, change: "new_table", data_type: null });
      return;
    }
    for (const name of columns) {
      if (present.has(name)) continue;
      const column = table.columns.get(name)!;
      const type = duckdbType(column.type, column.hint);
      await session.run(`ALTER TABLE ${target(table.name)} ADD COLUMN IF NOT EXISTS ${quoteIdent(name)} ${type}`);
      present.add(name);
      this.changes.push({ table: table.name, column: name, change: column.variant ? "variant_column" : "new_column", data_type: type });
    }
  }
}
