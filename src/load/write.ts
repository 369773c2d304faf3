// Loads a unit's staged segments inside its open transaction, as each one completes, so DuckDB
// works on its own thread while extraction goes on: schema changes first (CREATE / ALTER TABLE),
// then the rows by the owning resource's write disposition. Values only ever travel in staged
// files read by read_csv. Nothing is visible to others before the unit commits.
import { rmSync } from "node:fs";
import { RestloadError, messageOf } from "../errors.ts";
import { type Session, quoteIdent, quoteLiteral } from "../db/session.ts";
import type { KeyStats, SystemColumns } from "../normalize/flatten.ts";
import type { Schema, Table } from "../normalize/schema.ts";
import { duckdbType } from "../normalize/types.ts";
import type { PlannedWriteDisposition } from "../plan/index.ts";
import { type Segment, type StagedTable, sequenceColumn } from "./stage.ts";

export interface TableGroup {
  readonly resource: string;
  /** The resource's root table; its child tables are `<root>__…`. */
  readonly root: string;
  readonly disposition: PlannedWriteDisposition;
  /** Normalised column names. */
  readonly primaryKey: readonly string[];
  readonly mergeKey: readonly string[];
  /** What normalisation has seen of the primary keys so far (duplicates, missing values). */
  readonly keys: KeyStats;
}

export interface WriteContext {
  readonly session: Session;
  readonly dataset: string;
  readonly schema: Schema;
  readonly system: SystemColumns;
  readonly loadId: string;
  /** The resource owning a table that existed before the unit (the one with the longest table-name prefix). */
  readonly existingOwner: (table: string) => string | undefined;
  /** The unit's stop signal. */
  readonly signal: AbortSignal;
}

/**
 * One unit's writes. `add` queues each complete segment (loaded one after another, in order);
 * `finish` waits for them and applies what a disposition does once all rows are in.
 *
 * - append: segments are inserted as they come.
 * - merge: a key that comes again in this load replaces the load's earlier row (and its child
 *   rows) as its segment goes in, so the last record of a key wins; rows from earlier loads with
 *   the keys of this load go at the end.
 * - replace: the rows of earlier loads go at the end.
 *
 * Rows of earlier loads are deleted only after the last ALTER TABLE of the unit: DuckDB refuses to
 * commit a transaction that deleted committed rows of a table and then altered it.
 */
export class UnitWriter {
  private queue: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;
  private readonly written: Record<string, number> = {};
  /** The columns each table has in the database now (this transaction included). */
  private readonly inDatabase = new Map<string, Set<string>>();
  private readonly stagedOwner = new Map<string, string>();

  constructor(
    private readonly context: WriteContext,
    private readonly groups: ReadonlyMap<string, TableGroup>,
    /** Told of the first failure, so the unit stops extracting. */
    private readonly onError: (error: unknown) => void,
  ) {
    // Built before the unit normalises anything: an existing table's columns are the database's.
    for (const table of context.schema.tables.values()) if (!table.isNew) this.inDatabase.set(table.name, new Set(table.columns.keys()));
  }

  /** The first error a write raised, if any. */
  get error(): unknown {
    return this.failure?.error;
  }

  add(staged: StagedTable, segment: Segment): void {
    this.stagedOwner.set(staged.table, staged.owner);
    this.queue = this.queue.then(async () => {
      try {
        // A unit that stopped (a failure, a signal) loads nothing more: it is about to roll back.
        if (this.failure === undefined && !this.context.signal.aborted) await this.load(staged.table, staged.owner, segment);
      } catch (caught) {
        // DuckDB's first line, and for a CSV error the line naming the column and the value.
        const full = messageOf(caught);
        const detail = /^Error when converting column .*$/m.exec(full)?.[0];
        const message = [full.split("\n")[0]!, ...(detail ? [detail] : [])].join(": ");
        const from = [...staged.resources].map((name) => `"${name}"`).join(", ");
        const error = new RestloadError(
          "E_LOAD",
          `Cannot load the rows of ${staged.resources.size > 1 ? "resources" : "resource"} ${from} into table "${staged.table}": ${message}`,
          {
            hint: /Conversion Error/.test(message)
              ? "A value does not convert to its column's type: check the field's columns hint (data_type, precision), or keep it as text with columns.<field> = { data_type = \"text\" }."
              : "The unit rolled back; the next run loads it again.",
            context: { resource: staged.owner },
            cause: caught,
          },
        );
        this.failure = { error };
        this.onError(error);
      } finally {
        rmSync(segment.file, { force: true });
      }
    });
  }

  /** Resolves once the queued segments are done (or skipped after a failure); never rejects. */
  settled(): Promise<void> {
    return this.queue;
  }

  /** After the last segment: returns the rows this unit wrote per table. */
  async finish(): Promise<Record<string, number>> {
    await this.queue;
    if (this.failure) throw this.failure.error;
    // Every schema change first (tables and columns normalisation declared without staging rows
    // there, after a discarded row): deletes of earlier rows must come after the last ALTER.
    for (const table of this.context.schema.tables.values()) await this.materialize(table, [...table.columns.keys()]);
    for (const group of this.groups.values()) {
      if (group.disposition.disposition === "replace") await this.replaceEarlier(group);
      else if (mergeKeys(group).length > 0) await this.mergeEarlier(group);
    }
    return this.written;
  }

  // internal

  private async load(name: string, owner: string, segment: Segment): Promise<void> {
    const { session, schema } = this.context;
    const group = this.groups.get(owner)!;
    const table = schema.tables.get(name)!;
    await this.materialize(table, segment.columns);
    const read = readSegment(table, segment);
    // A primary key seen twice in this load: the earlier row of this load makes way.
    const replacing =
      group.disposition.disposition === "merge" &&
      group.keys.duplicates &&
      name === group.root &&
      group.primaryKey.length > 0 &&
      group.primaryKey.every((key) => segment.columns.includes(key));
    const rows = replacing
      ? await this.replaceLoaded(group, table, read)
      : await session.changes(`INSERT INTO ${this.target(name)} BY NAME SELECT * EXCLUDE (${quoteIdent(sequenceColumn)}) FROM (${read})`);
    this.written[name] = (this.written[name] ?? 0) + rows;
  }

  /** A root segment whose keys may repeat rows of this load: those rows (and their child rows) go, then the segment's last record per key comes in. */
  private async replaceLoaded(group: TableGroup, root: Table, read: string): Promise<number> {
    const { session, system } = this.context;
    const keep = quoteIdent("_rl_keep");
    const key = group.primaryKey.map(quoteIdent).join(", ");
    await session.run(
      `CREATE OR REPLACE TEMP TABLE ${keep} AS SELECT * FROM (${read}) QUALIFY row_number() OVER (PARTITION BY ${key} ORDER BY ${quoteIdent(sequenceColumn)} DESC) = 1`,
    );
    const rootTable = this.target(root.name);
    const matches = `t.${quoteIdent(system.loadId)} = ${quoteLiteral(this.context.loadId)} AND (${group.primaryKey.map((column) => `t.${quoteIdent(column)}`).join(", ")}) IN (SELECT ${key} FROM ${keep})`;
    for (const child of this.childTables(group)) {
      await session.run(
        `DELETE FROM ${this.target(child)} WHERE ${quoteIdent(system.rootId)} IN (SELECT t.${quoteIdent(system.id)} FROM ${rootTable} t WHERE ${matches})`,
      );
    }
    await session.run(`DELETE FROM ${rootTable} t WHERE ${matches}`);
    const rows = await session.changes(`INSERT INTO ${rootTable} BY NAME SELECT * EXCLUDE (${quoteIdent(sequenceColumn)}) FROM ${keep}`);
    await session.run(`DROP TABLE ${keep}`);
    return rows;
  }

  /** merge, at the end: rows of earlier loads with this load's keys go, with their child rows. */
  private async mergeEarlier(group: TableGroup): Promise<void> {
    const { session, schema, system } = this.context;
    const root = schema.tables.get(group.root);
    if (!root || this.written[root.name] === undefined) return;
    for (const key of [...group.primaryKey, ...group.mergeKey]) {
      if (!root.columns.has(key)) {
        throw new RestloadError(
          "E_LOAD",
          `Cannot merge resource "${group.resource}" as its key column "${key}" is in none of its records`,
          {
            hint: "Check primary_key / merge_key: they name fields of the records.",
            context: { resource: group.resource },
          },
        );
      }
    }
    const { missing, mistyped } = group.keys;
    if (mistyped > 0) {
      throw new RestloadError(
        "E_LOAD",
        `Cannot merge resource "${group.resource}" as ${mistyped === 1 ? "1 record" : `${mistyped} records`} for its table "${group.root}" ${mistyped === 1 ? "has" : "have"} a value for ${group.primaryKey.join(", ")} of another type than the key column (it went to a variant column <column>__v_<type>)`,
        {
          hint: 'A key must keep one type: check what the API sends, or give the key column a type that takes every value (columns.<field> = { data_type = "text" }).',
          context: { resource: group.resource },
        },
      );
    }
    if (missing > 0) {
      throw new RestloadError(
        "E_LOAD",
        `Cannot merge resource "${group.resource}" as ${missing === 1 ? "1 record" : `${missing} records`} for its table "${group.root}" ${missing === 1 ? "has" : "have"} no value for ${group.primaryKey.join(", ")}`,
        {
          hint: "Records to merge need their key; check primary_key / merge_key.",
          context: { resource: group.resource },
        },
      );
    }
    const keyColumns = mergeKeys(group);
    const rootTable = this.target(root.name);
    const thisLoad = `${quoteIdent(system.loadId)} = ${quoteLiteral(this.context.loadId)}`;
    if (!root.isNew) {
      if (keyColumns.some((key) => root.columns.get(key)?.type === "json")) {
        throw new RestloadError("E_LOAD", `Cannot merge resource "${group.resource}" on a JSON key`, {
          context: { resource: group.resource },
        });
      }
      const keys = keyColumns.map(quoteIdent).join(", ");
      // IS DISTINCT FROM: rows written before a system_prefix change have no value in this column.
      const earlier = `t.${quoteIdent(system.loadId)} IS DISTINCT FROM ${quoteLiteral(this.context.loadId)} AND (${keyColumns.map((key) => `t.${quoteIdent(key)}`).join(", ")}) IN (SELECT ${keys} FROM ${rootTable} WHERE ${thisLoad})`;
      for (const child of this.childTables(group)) {
        await session.run(
          `DELETE FROM ${this.target(child)} WHERE ${quoteIdent(system.rootId)} IN (SELECT t.${quoteIdent(system.id)} FROM ${rootTable} t WHERE ${earlier})`,
        );
      }
      await session.run(`DELETE FROM ${rootTable} t WHERE ${earlier}`);
    }
    if (!group.keys.duplicates) return;
    // Child rows of this load can have gone in before their root row made way for a later record.
    const loadRows = `SELECT ${quoteIdent(system.id)} FROM ${rootTable} WHERE ${thisLoad}`;
    for (const child of this.childTables(group)) {
      // Rows without a root id (written before the table was a merge table, or under another
      // system_prefix) are not this load's: they stay.
      await session.run(
        `DELETE FROM ${this.target(child)} c WHERE c.${quoteIdent(system.rootId)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${rootTable} r WHERE r.${quoteIdent(system.id)} = c.${quoteIdent(system.rootId)})`,
      );
      if (this.written[child] !== undefined)
        this.written[child] = await this.count(`${this.target(child)} WHERE ${quoteIdent(system.rootId)} IN (${loadRows})`);
    }
    this.written[root.name] = await this.count(`${rootTable} WHERE ${thisLoad}`);
  }

  /**
   * replace, at the end: the rows of earlier loads go. Root rows carry their load id; a child row's
   * id starts with its root row's id (`<root id>.<tag><index>`).
   */
  private async replaceEarlier(group: TableGroup): Promise<void> {
    const { session, schema, system } = this.context;
    const rootTable = this.target(group.root);
    const thisLoad = `${quoteIdent(system.loadId)} = ${quoteLiteral(this.context.loadId)}`;
    const rootHasRows = this.written[group.root] !== undefined;
    for (const name of this.ownedTables(group)) {
      const table = schema.tables.get(name)!;
      if (table.isNew) continue;
      // IS DISTINCT FROM and coalesce: rows written before a system_prefix change have no value in these columns.
      if (name === group.root || !rootHasRows) {
        await session.run(
          `DELETE FROM ${this.target(name)}${rootHasRows ? ` WHERE ${quoteIdent(system.loadId)} IS DISTINCT FROM ${quoteLiteral(this.context.loadId)}` : ""}`,
        );
      } else {
        await session.run(
          `DELETE FROM ${this.target(name)} WHERE coalesce(split_part(${quoteIdent(system.id)}, '.', 1), '') NOT IN (SELECT ${quoteIdent(system.id)} FROM ${rootTable} WHERE ${thisLoad})`,
        );
      }
    }
  }

  /** The group's child tables in the database that link rows to their root row. */
  private childTables(group: TableGroup): string[] {
    return this.ownedTables(group).filter((name) => name !== group.root && this.inDatabase.get(name)?.has(this.context.system.rootId));
  }

  /** CREATE TABLE for a new table, ALTER TABLE ADD COLUMN for columns the database lacks. */
  private async materialize(table: Table, columns: readonly string[]): Promise<void> {
    const { session } = this.context;
    const present = this.inDatabase.get(table.name);
    if (present === undefined) {
      if (table.columns.size === 0) return;
      const all = [...table.columns.values()];
      await session.run(
        `CREATE TABLE IF NOT EXISTS ${this.target(table.name)} (${all.map((column) => `${quoteIdent(column.name)} ${duckdbType(column.type, column.hint)}`).join(", ")})`,
      );
      this.inDatabase.set(table.name, new Set(all.map((column) => column.name)));
      return;
    }
    for (const name of columns) {
      if (present.has(name)) continue;
      const column = table.columns.get(name)!;
      await session.run(
        `ALTER TABLE ${this.target(table.name)} ADD COLUMN IF NOT EXISTS ${quoteIdent(name)} ${duckdbType(column.type, column.hint)}`,
      );
      present.add(name);
    }
  }

  /** The tables a group writes: those it staged rows in, and those it owned before the unit. */
  private ownedTables(group: TableGroup): string[] {
    const owned: string[] = [];
    for (const table of this.context.schema.tables.values()) {
      const staged = this.stagedOwner.get(table.name);
      if (staged === group.resource || (staged === undefined && !table.isNew && this.context.existingOwner(table.name) === group.resource))
        owned.push(table.name);
    }
    return owned;
  }

  private async count(from: string): Promise<number> {
    const [row] = await this.context.session.all(`SELECT count(*) AS n FROM ${from}`);
    return Number(row?.n ?? 0);
  }

  private target(table: string): string {
    return this.context.session.table(this.context.dataset, table);
  }
}

// internal

function mergeKeys(group: TableGroup): readonly string[] {
  if (group.disposition.disposition !== "merge") return [];
  return group.mergeKey.length > 0 ? group.mergeKey : group.primaryKey;
}

/**
 * read_csv over one segment file, every column typed; includes the sequence column. Timestamps
 * are read as text and cast after: read_csv turns a TIMESTAMPTZ it cannot convert (30 February)
 * into NULL, where a cast fails loudly.
 */
function readSegment(table: Table, segment: Segment): string {
  // DuckDB's default limit is 2 MiB per line; a larger record raises it just enough. Its reading
  // buffer would then be 16 times that (a 6 MB record: a 100 MB buffer, past the memory limit):
  // twice the longest line is enough. (Below 2 MiB DuckDB's own buffer is kept: an 8 MB one
  // raised the peak of a 500,000-record run from 281–283 MB to 308 MB.)
  const longLines = segment.longest + 1024 > 2 * 1024 * 1024;
  const maximum = longLines ? segment.longest + 1024 : 2 * 1024 * 1024;
  const buffer = longLines ? `, buffer_size = ${2 * maximum}` : "";
  const casts: string[] = [];
  const columns = segment.columns.map((name) => {
    const column = table.columns.get(name)!;
    const type = duckdbType(column.type, column.hint);
    if (column.type === "timestamp") casts.push(`CAST(${quoteIdent(name)} AS ${type}) AS ${quoteIdent(name)}`);
    return `${quoteLiteral(name)}: ${quoteLiteral(column.type === "timestamp" ? "VARCHAR" : type)}`;
  });
  columns.push(`${quoteLiteral(sequenceColumn)}: 'BIGINT'`);
  const select = casts.length > 0 ? `SELECT * REPLACE (${casts.join(", ")})` : "SELECT *";
  return `${select} FROM read_csv(${quoteLiteral(segment.file)}, header = true, auto_detect = false, columns = {${columns.join(", ")}}, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, max_line_size = ${maximum}${buffer})`;
}
