// The tables and columns of a dataset as a unit sees them: what exists, what this unit adds, and
// the schema contract that decides whether it may add it.
import { RestloadError } from "../errors.ts";
import type { ColumnHint } from "../config/schema/resource.ts";
import type { DataType } from "./types.ts";

export type ContractMode = "evolve" | "freeze" | "discard_row" | "discard_value";

export interface Contract {
  readonly tables: ContractMode;
  readonly columns: ContractMode;
  readonly data_type: ContractMode;
}

export interface Column {
  readonly name: string;
  readonly type: DataType;
  readonly hint?: ColumnHint | undefined;
  /** A variant column (`<column>__v_<type>`): values that did not fit the column's type. */
  readonly variant?: boolean | undefined;
}

export interface Table {
  readonly name: string;
  readonly columns: Map<string, Column>;
  /** The table does not exist in the database yet. */
  readonly isNew: boolean;
  /** Columns this unit adds to an existing table, in order. */
  readonly added: Column[];
}

/** Thrown (inside normalize) when a `discard_row` contract drops the record being normalised. */
export class DiscardRow extends Error {}

/** What happened to a value: stored in a column, or dropped by a `discard_value` contract. */
export type Placement = { readonly column: string } | { readonly dropped: true };

export class Schema {
  readonly tables = new Map<string, Table>();

  /** `existing` maps table -> column -> type, as read from the database. */
  constructor(existing: ReadonlyMap<string, ReadonlyMap<string, DataType>> = new Map()) {
    for (const [name, columns] of existing) {
      const table: Table = { name, columns: new Map(), isNew: false, added: [] };
      for (const [column, type] of columns) table.columns.set(column, { name: column, type });
      this.tables.set(name, table);
    }
  }

  /** The table `name`, created in the schema if the contract allows a new table. */
  table(name: string, contract: Contract, resource: string): Table {
    let table = this.tables.get(name);
    if (table) return table;
    enforce(contract.tables, () => `Cannot create table "${name}" of resource "${resource}" as its schema contract freezes tables`);
    table = { name, columns: new Map(), isNew: true, added: [] };
    this.tables.set(name, table);
    return table;
  }

  /**
   * Where a value of `type` goes in `table`: the column itself, a new column, or a variant column
   * `<column>__v_<type>` when the column exists with another type.
   */
  place(
    table: Table,
    column: string,
    type: DataType,
    contract: Contract,
    resource: string,
    variant: boolean,
    hint?: ColumnHint,
  ): Placement {
    const existing = table.columns.get(column);
    if (existing) return { column };
    // Columns of a table this unit creates are not governed by the column contract.
    const mode = variant ? contract.data_type : table.isNew ? "evolve" : contract.columns;
    const what = variant ? `a ${type} value into variant column "${column}"` : `new column "${column}"`;
    if (mode === "discard_value") return { dropped: true };
    enforce(
      mode,
      () =>
        `Cannot add ${what} to table "${table.name}" of resource "${resource}" as its schema contract freezes ${variant ? "data types" : "columns"}`,
    );
    this.addColumn(table, { name: column, type, hint, variant });
    return { column };
  }

  /** Adds a column outside the contract (system columns). */
  addColumn(table: Table, column: Column): void {
    if (table.columns.has(column.name)) return;
    table.columns.set(column.name, column);
    if (!table.isNew) table.added.push(column);
  }
}

function enforce(mode: ContractMode, message: () => string): void {
  if (mode === "evolve") return;
  if (mode === "discard_row" || mode === "discard_value") throw new DiscardRow();
  throw new RestloadError("E_CONTRACT", message(), { hint: 'Change schema_contract (e.g. "evolve"), or fix the data the API sends.' });
}
