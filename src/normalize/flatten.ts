// Records -> table rows: nested objects flatten into `parent__child` columns, lists become child
// tables, values that do not fit their column go to variant columns; nothing is dropped silently.
import { createHash } from "node:crypto";
import { formatPath } from "../config/path.ts";
import type { ColumnHint } from "../config/schema/resource.ts";
import { RestloadError } from "../errors.ts";
import { KeySet } from "./key-set.ts";
import { normalizeIdentifier, shorten } from "./naming.ts";
import { rowHash } from "./row-hash.ts";
import { type Contract, DiscardRow, type Schema, type Table } from "./schema.ts";
import { toJson } from "../util/json.ts";
import { type DataType, canonicalTimestamp, fits, inferType, timestampMicros } from "./types.ts";

export interface SystemColumns {
  readonly loadId: string;
  readonly id: string;
  readonly parentId: string;
  readonly listIdx: string;
  readonly rootId: string;
  /** scd2 tables: when a root row's version became current, and when it stopped being (NULL while current). */
  readonly validFrom: string;
  readonly validTo: string;
}

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
   * it (see keyPart). `mistyped`: a missing part went to a variant column.
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

/**
 * The load id rows are stamped with now: a unit's checkpoints each have their own, so the holder
 * is shared by its normalisers and its writer and moves on after each checkpoint.
 */
export interface CurrentLoadId {
  readonly current: string;
}

export interface Row {
  readonly table: string;
  readonly values: Record<string, unknown>;
  /** The table's columns (live): every key of `values` is one of them. */
  readonly columns: ReadonlyMap<string, unknown>;
}

/** System column names for a `system_prefix` (`_rl_` gives `_rl_id`, `_rl_load_id`, …). */
export function systemColumns(prefix: string): SystemColumns {
  return {
    loadId: `${prefix}load_id`,
    id: `${prefix}id`,
    parentId: `${prefix}parent_id`,
    listIdx: `${prefix}list_idx`,
    rootId: `${prefix}root_id`,
    validFrom: `${prefix}valid_from`,
    validTo: `${prefix}valid_to`,
  };
}

/**
 * Normalises records of one resource against a schema it extends. `rows` returns every row of a
 * record (root first, then child rows), or null when a `discard_row` contract drops the record.
 */
export class Normalizer {
  private readonly names = new Map<string, string>();
  private readonly joined = new Map<string, Map<string, string>>();
  /** The tables this resource's rows went to (its own table and its child tables). */
  readonly tables = new Set<string>();
  private readonly lastNames = new Map<string, { keys: readonly string[]; names: string[] }>();
  private readonly reserved: Set<string>;
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
    // The validity columns are system columns of scd2 tables only: elsewhere a field may take the name.
    const { validFrom: _from, validTo: _to, ...always } = system;
    this.reserved = new Set(Object.values(shape.rowVersions ? system : always));
    // The root table is declared by the pipeline itself: the table contract governs the tables data adds.
    this.rootContract = { ...shape.contract, tables: "evolve" };
  }

  rows(record: unknown): Row[] | null {
    const out: Row[] = [];
    try {
      const table = this.table(this.shape.table, true);
      const id = this.shape.rowVersions ? rowHash(record) : this.newId();
      const values: Record<string, unknown> = { [this.system.loadId]: this.loadId.current, [this.system.id]: id };
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
    const text = { type: "text" as DataType };
    if (root) {
      this.schema.addColumn(table, { name: this.system.loadId, ...text });
      this.schema.addColumn(table, { name: this.system.id, ...text });
      if (this.shape.rowVersions) {
        this.schema.addColumn(table, { name: this.system.validFrom, type: "timestamp" });
        this.schema.addColumn(table, { name: this.system.validTo, type: "timestamp" });
      }
    } else {
      this.schema.addColumn(table, { name: this.system.parentId, ...text });
      this.schema.addColumn(table, { name: this.system.listIdx, type: "bigint" });
      this.schema.addColumn(table, { name: this.system.id, ...text });
      if (this.shape.rootIds) this.schema.addColumn(table, { name: this.system.rootId, ...text });
    }
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
    const names = this.columnNames(keys, prefix === "", prefix === "" && depth === 0);
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
      const values: Record<string, unknown> = { [this.system.parentId]: parentId, [this.system.listIdx]: index, [this.system.id]: id };
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

  /** Normalised names of an object's keys; keys that collide after normalisation are kept apart. */
  private columnNames(keys: readonly string[], top: boolean, root: boolean): string[] {
    // Records of one API share their key lists: the names of a list seen before are reused.
    const cacheKey = root ? "\u0002" : top ? "\u0001" : "";
    const cached = this.lastNames.get(cacheKey + keys[0]);
    if (cached && sameKeys(cached.keys, keys)) return cached.names;
    const names = this.resolveNames(keys, top);
    if (root) this.checkKeyNames(keys, names);
    this.lastNames.set(cacheKey + keys[0], { keys, names });
    return names;
  }

  /** A primary key field that lost its column name to another field of the record would merge on the wrong values: that fails. */
  private checkKeyNames(keys: readonly string[], names: readonly string[]): void {
    for (const field of this.shape.primaryKeyFields) {
      const index = keys.indexOf(field);
      if (index < 0) continue;
      const wanted = this.names.get(field)!;
      if (names[index] === wanted) continue;
      const keeper = keys[names.indexOf(wanted)];
      const rivals = keys.filter((key) => this.names.get(key) === wanted);
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

  private resolveNames(keys: readonly string[], top: boolean): string[] {
    const names = keys.map((key) => {
      let name = this.names.get(key);
      if (name === undefined) {
        name = normalizeIdentifier(key);
        // A name that lost every letter and digit (emoji, other scripts) keeps a hash of the original.
        if (!/[a-z0-9]/.test(name)) name = `_${shortHash(key)}`;
        this.names.set(key, name);
      }
      return name;
    });
    const taken = new Set<string>();
    const clash = new Set<string>();
    for (const name of names) (taken.has(name) ? clash : taken).add(name);
    const reservedHit = top && names.some((name) => this.reserved.has(name));
    if (clash.size === 0 && !reservedHit) return names;
    // Deterministic: among keys sharing a name, the one already in canonical form (then the
    // smallest) keeps it; the others, and data keys named like system columns, get a hash suffix.
    const keepers = new Map<string, string>();
    keys.forEach((key, i) => {
      const name = names[i]!;
      if (top && this.reserved.has(name)) return;
      const current = keepers.get(name);
      if (current === undefined || rank(key, name) < rank(current, name)) keepers.set(name, key);
    });
    return names.map((name, i) => (keepers.get(name) === keys[i] ? name : `${name}__${shortHash(keys[i]!)}`));
  }
}

// internal

/** A key value as the database compares it: an instant or a decimal by its value, not its spelling. */
function keyPart(type: DataType | undefined, value: unknown): unknown {
  if (typeof value !== "string") return value;
  if (type === "timestamp") return timestampMicros(value) ?? value;
  if (type === "decimal") {
    const number = Number(value);
    return Number.isFinite(number) ? number : value;
  }
  return value;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function rank(key: string, name: string): string {
  return `${key === name ? "0" : "1"}${key}`;
}

function hintType(hint: ColumnHint | undefined): DataType | undefined {
  return hint?.data_type as DataType | undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 8);
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
  if (key in object) return object[key];
  const column = normalizeIdentifier(key);
  for (const [name, value] of Object.entries(object)) if (normalizeIdentifier(name) === column) return value;
  return undefined;
}
