// Records -> table rows: nested objects flatten into `parent__child` columns, lists become child
// tables, values that do not fit their column go to variant columns; nothing is dropped silently.
// Column names: `column-names.ts`; system columns: `system-columns.ts`; key tracking: `table-keys.ts`.
import { formatPath } from "../config/path.ts";
import type { ColumnHint } from "../config/schema/resource.ts";
import { RestloadError } from "../errors.ts";
import { toJson } from "../util/json.ts";
import { ColumnNames, type KeyLevel, shortHash } from "./column-names.ts";
import { normalizeIdentifier, shorten } from "./naming.ts";
import { rowHash } from "./row-hash.ts";
import { type Contract, DiscardRow, type Schema, type Table } from "./schema.ts";
import { type SystemColumns, reservedNames, tableSystemColumns } from "./system-columns.ts";
import { TableKeys, keyPart } from "./table-keys.ts";
import { type DataType, canonicalTimestamp, fits, inferType } from "./types.ts";

export { type SystemColumns, systemColumns } from "./system-columns.ts";
export { type KeyStats, TableKeys } from "./table-keys.ts";

export interface ResourceShape {
  readonly resource: string;
  readonly table: string;
  readonly maxNesting: number | null;
  /** Column hints by normalised column name (`user__login`). */
  readonly hints: ReadonlyMap<string, ColumnHint>;
  /** Fields (dotted paths, as the pipeline names them) whose hint says `nullable = false`. */
  readonly required: readonly string[];
  readonly contract: Contract;
  /** Child rows carry the root row's id (merge tables, so children are replaced with their parent). */
  readonly rootIds: boolean;
  /**
   * Root rows are versions (scd2): the root row's id is the record's content hash (`rowHash`), and
   * the root table has the validity columns, which the load fills.
   */
  readonly rowVersions: boolean;
  /** Normalised primary key columns, tracked for merge (duplicates, missing values). */
  readonly primaryKey: readonly string[];
  /** The primary key as the pipeline names it (record fields, dotted paths). */
  readonly primaryKeyFields: readonly string[];
}

/**
 * The load id rows are stamped with now: a unit's checkpoints each have their own, so the holder
 * is shared by its normalisers and its writer and moves on after each checkpoint.
 */
export interface CurrentLoadId {
  readonly current: string;
}

export interface Row {
  readonly table: string;
  /** Column -> value, without a prototype: a field named `__proto__` is a column like any other. */
  readonly values: Record<string, unknown>;
  /** The table's columns (live): every key of `values` is one of them. */
  readonly columns: ReadonlyMap<string, unknown>;
}

/**
 * Normalises records of one resource against a schema it extends. `rows` returns every row of a
 * record (root first, then child rows), or null when a `discard_row` contract drops the record.
 */
export class Normalizer {
  private readonly names: ColumnNames;
  private readonly joined = new Map<string, Map<string, string>>();
  /** The tables this resource's rows went to (its own table and its child tables). */
  readonly tables = new Set<string>();
  private readonly rootContract: Contract;

  constructor(
    private readonly schema: Schema,
    private readonly shape: ResourceShape,
    private readonly system: SystemColumns,
    private readonly loadId: CurrentLoadId,
    private readonly newId: () => string,
    /** The keys of the resource's table in this load (shared with other resources writing it). */
    readonly keys: TableKeys = new TableKeys(),
  ) {
    this.names = new ColumnNames(reservedNames(system, shape));
    // The root table is declared by the pipeline itself: the table contract governs the tables data adds.
    this.rootContract = { ...shape.contract, tables: "evolve" };
  }

  rows(record: unknown): Row[] | null {
    const out: Row[] = [];
    try {
      const table = this.table(this.shape.table, true);
      const id = this.shape.rowVersions ? rowHash(record) : this.newId();
      const values = rowValues();
      values[this.system.loadId] = this.loadId.current;
      values[this.system.id] = id;
      out.push({ table: table.name, values, columns: table.columns });
      if (this.shape.required.length > 0) this.checkRequired(record);
      if (isPlainObject(record)) this.flatten(record, table, values, "", 0, out, id, id);
      else this.set(table, values, "value", record);
      if (this.shape.primaryKey.length > 0) this.trackKey(table, values);
      return out;
    } catch (error) {
      if (error instanceof DiscardRow) return null;
      throw error;
    }
  }

  // internal

  /** A field whose hint says `nullable = false` must hold a value: a record without one fails its unit. */
  private checkRequired(record: unknown): void {
    for (const field of this.shape.required) {
      let value: unknown = record;
      for (const key of field.split(".")) value = isPlainObject(value) ? fieldNamed(value, key) : undefined;
      if (value !== null && value !== undefined) continue;
      throw new RestloadError(
        "E_DATA",
        `Cannot load a record of resource "${this.shape.resource}" as its field "${field}" is ${value === null ? "null" : "missing"}, and columns.${formatPath([field])} says nullable = false (column "${field.split(".").map(normalizeIdentifier).join("__")}" of table "${this.shape.table}")`,
        {
          hint: `Remove nullable = false from columns.${formatPath([field])} if the API may leave it out, or drop such records first: processing_steps = [{ filter = { field = "${field}", op = "exists" } }].`,
          context: { resource: this.shape.resource },
        },
      );
    }
  }

  private trackKey(table: Table, values: Record<string, unknown>): void {
    const parts = this.shape.primaryKey.map((column) => keyPart(table.columns.get(column)?.type, values[column]));
    const mistyped = parts.some(
      (part, i) => part === undefined && Object.keys(values).some((name) => name.startsWith(`${this.shape.primaryKey[i]}__v_`)),
    );
    this.keys.track(parts, mistyped);
  }

  /** `parent__child`, shortened past 63 characters; cached, as the same paths come in every record. */
  private join(prefix: string, name: string): string {
    let byName = this.joined.get(prefix);
    if (byName === undefined) this.joined.set(prefix, (byName = new Map()));
    let joined = byName.get(name);
    if (joined === undefined) {
      joined = shorten(`${prefix}__${name}`);
      byName.set(name, joined);
    }
    return joined;
  }

  private table(name: string, root: boolean): Table {
    const table = this.schema.table(name, root ? this.rootContract : this.shape.contract, this.shape.resource);
    this.tables.add(name);
    for (const column of tableSystemColumns(this.system, root ? "root" : "child", this.shape)) this.schema.addColumn(table, column);
    return table;
  }

  private flatten(
    object: Record<string, unknown>,
    table: Table,
    values: Record<string, unknown>,
    prefix: string,
    depth: number,
    out: Row[],
    rowId: string,
    rootId: string,
  ): void {
    const keys = Object.keys(object);
    const level: KeyLevel = prefix !== "" ? "nested" : depth === 0 ? "root" : "top";
    const { names, fresh } = this.names.of(keys, level);
    if (fresh && level === "root") this.checkKeyNames(keys, names);
    for (let i = 0; i < keys.length; i++) {
      const value = object[keys[i]!];
      if (value === null || value === undefined) continue;
      const column = prefix ? this.join(prefix, names[i]!) : names[i]!;
      const expand = this.shape.maxNesting === null || depth < this.shape.maxNesting;
      const asJson = this.shape.hints.size > 0 && table.name === this.shape.table && this.shape.hints.get(column)?.data_type === "json";
      if (expand && !asJson && isPlainObject(value)) {
        this.flatten(value, table, values, column, depth + 1, out, rowId, rootId);
      } else if (expand && !asJson && Array.isArray(value)) {
        this.list(value, this.join(table.name, column), depth + 1, out, rowId, rootId);
      } else {
        this.set(table, values, column, value);
      }
    }
  }

  private list(items: unknown[], tableName: string, depth: number, out: Row[], parentId: string, rootId: string): void {
    if (items.length === 0) return;
    const table = this.table(tableName, false);
    for (let index = 0; index < items.length; index++) {
      const item = items[index];
      const id = childId(parentId, tableName, index);
      const values = rowValues();
      values[this.system.parentId] = parentId;
      values[this.system.listIdx] = index;
      values[this.system.id] = id;
      if (this.shape.rootIds) values[this.system.rootId] = rootId;
      out.push({ table: table.name, values, columns: table.columns });
      if (isPlainObject(item)) this.flatten(item, table, values, "", depth, out, id, rootId);
      else if (item !== null && item !== undefined) this.set(table, values, "value", item);
    }
  }

  /** Stores a scalar (or a JSON value past the nesting limit) in its column or a variant of it. */
  private set(table: Table, values: Record<string, unknown>, wanted: string, value: unknown): void {
    const { schema, shape } = this;
    // `{a: {b: 1}, a__b: 2}` flattens two values into one name: the later one gets a suffix.
    let column = wanted;
    for (let n = 1; Object.hasOwn(values, column); n++) column = shorten(`${wanted}__${shortHash(`${wanted}\u0000${n}`)}`);
    const hint = shape.hints.size > 0 && table.name === shape.table ? shape.hints.get(column) : undefined;
    const existing = table.columns.get(column);
    let target = column;
    let type: DataType | undefined = existing?.type ?? hintType(hint) ?? inferType(value);
    if (type === undefined) return;
    let stored = value;
    if (existing && !fits(existing.type, value)) {
      if (existing.type === "text" && hint?.data_type === "text") stored = typeof value === "string" ? value : toJson(value);
      else {
        const variantType = inferType(value)!;
        target = `${column}__v_${variantType}`;
        type = table.columns.get(target)?.type ?? variantType;
        const placed = schema.place(table, target, type, shape.contract, shape.resource, true);
        if ("dropped" in placed) return;
      }
    } else if (!existing) {
      if (hint?.data_type === "text" && typeof value !== "string") stored = toJson(value);
      else if (!fits(type, value)) {
        throw new RestloadError(
          "E_NORMALIZE",
          `Cannot store ${JSON.stringify(String(value)).slice(0, 60)} in column "${column}" of table "${table.name}" as its hint says ${hint?.data_type}`,
          {
            hint: `Fix columns.${column} of resource "${shape.resource}", or remove the hint.`,
            context: { resource: shape.resource },
          },
        );
      }
      const placed = schema.place(table, column, type, shape.contract, shape.resource, false, hint);
      if ("dropped" in placed) return;
    }
    values[target] = type === "timestamp" && typeof stored === "string" ? canonicalTimestamp(stored) : stored;
  }

  /** A primary key field that lost its column name to another field of the record would merge on the wrong values: that fails. */
  private checkKeyNames(keys: readonly string[], names: readonly string[]): void {
    for (const field of this.shape.primaryKeyFields) {
      const index = keys.indexOf(field);
      if (index < 0) continue;
      const wanted = this.names.nameOf(field)!;
      if (names[index] === wanted) continue;
      const keeper = keys[names.indexOf(wanted)];
      const rivals = keys.filter((key) => this.names.nameOf(key) === wanted);
      throw new RestloadError(
        "E_NORMALIZE",
        `Cannot merge resource "${this.shape.resource}" on "${field}": the fields ${rivals.map((key) => `"${key}"`).join(" and ")} of its records all become column "${wanted}", which ${keeper === undefined ? "a system column" : `"${keeper}"`} keeps`,
        {
          hint: `Rename one of them with a map step (processing_steps = [{ map = { rename = { "${field}" = "<new name>" } } }]) and name the key by its new name, or set primary_key to the field that keeps the column.`,
          context: { resource: this.shape.resource },
        },
      );
    }
  }
}

// internal

function hintType(hint: ColumnHint | undefined): DataType | undefined {
  return hint?.data_type as DataType | undefined;
}

/** A row's values: no prototype, so `values["__proto__"]` is a column's value, set and read like any other. */
function rowValues(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const tableTags = new Map<string, string>();

/**
 * Child row ids derive from the parent's id, the table and the position, so they are unique and
 * stable for a parent row, and cheap: `<parent id>.<table tag><index>`.
 */
function childId(parentId: string, table: string, index: number): string {
  let tag = tableTags.get(table);
  if (tag === undefined) {
    tag = shortHash(table).slice(0, 4);
    tableTags.set(table, tag);
  }
  return `${parentId}.${tag}${index}`;
}

/**
 * The value of `object` for a hint's path segment: the field of that name, else the field whose
 * column name is the same (a hint `columns.user_name` names the API's `userName` too).
 */
function fieldNamed(object: Record<string, unknown>, key: string): unknown {
  if (Object.hasOwn(object, key)) return object[key];
  const column = normalizeIdentifier(key);
  for (const [name, value] of Object.entries(object)) if (normalizeIdentifier(name) === column) return value;
  return undefined;
}
