// Loads a unit's staged rows inside its transaction: schema changes first, then each resource's
// tables by its write disposition. Values only ever travel in staged files read by read_csv.
import { RestloadError } from "../errors.ts";
import { type Session, quoteIdent, quoteLiteral } from "../db/session.ts";
import type { KeyStats, SystemColumns } from "../normalize/flatten.ts";
import type { Schema, Table } from "../normalize/schema.ts";
import { duckdbType } from "../normalize/types.ts";
import type { PlannedWriteDisposition } from "../plan/index.ts";
import { type Stage, sequenceColumn } from "./stage.ts";

export interface TableGroup {
  readonly resource: string;
  /** The resource's root table; its child tables are `<root>__…`. */
  readonly root: string;
  readonly disposition: PlannedWriteDisposition;
  /** Normalised column names. */
  readonly primaryKey: readonly string[];
  readonly mergeKey: readonly string[];
  /** What normalisation saw of the primary keys (duplicates, missing values). */
  readonly keys: KeyStats;
  /** The tables this resource writes: its own, and its child tables (this run's and earlier ones'). */
  readonly tables: readonly string[];
}

export interface WriteContext {
  readonly session: Session;
  readonly dataset: string;
  readonly schema: Schema;
  readonly stage: Stage;
  readonly system: SystemColumns;
}

/** CREATE TABLE for new tables, ALTER TABLE ADD COLUMN for new columns. */
export async function applySchemaChanges(context: WriteContext): Promise<void> {
  const { session, dataset, schema } = context;
  for (const table of schema.tables.values()) {
    const name = session.table(dataset, table.name);
    if (table.isNew) {
      if (table.columns.size === 0) continue;
      const columns = [...table.columns.values()].map((column) => `${quoteIdent(column.name)} ${duckdbType(column.type, column.hint)}`);
      await session.run(`CREATE TABLE IF NOT EXISTS ${name} (${columns.join(", ")})`);
    } else {
      for (const column of table.added) await session.run(`ALTER TABLE ${name} ADD COLUMN IF NOT EXISTS ${quoteIdent(column.name)} ${duckdbType(column.type, column.hint)}`);
    }
  }
}

/** Writes one resource's tables; returns rows written per table. */
export async function writeGroup(context: WriteContext, group: TableGroup): Promise<Record<string, number>> {
  const { schema } = context;
  const tables = group.tables.map((name) => schema.tables.get(name)).filter((table): table is Table => table !== undefined);
  const written: Record<string, number> = {};
  const keys = group.mergeKey.length > 0 ? group.mergeKey : group.primaryKey;
  if (group.disposition.disposition === "merge" && keys.length > 0) {
    await merge(context, group, tables, written);
    return written;
  }
  if (group.disposition.disposition === "replace") {
    for (const table of tables) if (!table.isNew || staged(context, table)) await context.session.run(`DELETE FROM ${context.session.table(context.dataset, table.name)}`);
  }
  for (const table of tables) {
    if (staged(context, table)) written[table.name] = await insertStaged(context, table);
  }
  return written;
}

// internal

/**
 * delete-insert (and upsert) by primary key or merge key: the last record of a key in this load
 * wins; existing rows with its key, and their child rows, are replaced.
 */
async function merge(context: WriteContext, group: TableGroup, tables: Table[], written: Record<string, number>): Promise<void> {
  const { session, system } = context;
  const root = tables.find((table) => table.name === group.root);
  if (!root || !staged(context, root)) return;
  for (const key of [...group.primaryKey, ...group.mergeKey]) {
    if (!root.columns.has(key)) {
      throw new RestloadError("E_LOAD", `Cannot merge resource "${group.resource}" as its key column "${key}" is in none of its records`, {
        hint: "Check primary_key / merge_key: they name fields of the records.",
        context: { resource: group.resource },
      });
    }
  }
  const keyColumns = group.mergeKey.length > 0 ? group.mergeKey : group.primaryKey;
  if (group.keys.missing > 0) {
    throw new RestloadError("E_LOAD", `Cannot merge resource "${group.resource}" as ${group.keys.missing} of its records have no value for ${group.primaryKey.join(", ")}`, {
      hint: "Records to merge need their key; check primary_key / merge_key.",
      context: { resource: group.resource },
    });
  }
  // Only when a key came twice in this load are the rows deduplicated (the last record wins) in a
  // temporary table; otherwise the staged files are read directly.
  const keep = quoteIdent(`_rl_keep_${group.root}`);
  let source = `(SELECT * EXCLUDE (${quoteIdent(sequenceColumn)}) FROM ${readStaged(context, root)})`;
  if (group.keys.duplicates) {
    const partition = group.primaryKey.map(quoteIdent).join(", ");
    await session.run(
      `CREATE OR REPLACE TEMP TABLE ${keep} AS SELECT * EXCLUDE (${quoteIdent(sequenceColumn)}) FROM ${readStaged(context, root)} QUALIFY row_number() OVER (PARTITION BY ${partition} ORDER BY ${quoteIdent(sequenceColumn)} DESC) = 1`,
    );
    source = keep;
  }
  const rootTable = target(context, root);
  if (!root.isNew) {
    const keys = `(SELECT ${keyColumns.map(quoteIdent).join(", ")} FROM ${source})`;
    const matches = `(${keyColumns.map((key) => `t.${quoteIdent(key)}`).join(", ")}) IN ${keys}`;
    if (keyColumns.some((key) => root.columns.get(key)?.type === "json")) throw new RestloadError("E_LOAD", `Cannot merge resource "${group.resource}" on a JSON key`);
    for (const child of tables) {
      if (child === root || child.isNew || !child.columns.has(system.rootId)) continue;
      await session.run(`DELETE FROM ${target(context, child)} WHERE ${quoteIdent(system.rootId)} IN (SELECT t.${quoteIdent(system.id)} FROM ${rootTable} t WHERE ${matches})`);
    }
    await session.run(`DELETE FROM ${rootTable} t WHERE ${matches}`);
  }
  written[root.name] = group.keys.duplicates ? await session.changes(`INSERT INTO ${rootTable} BY NAME SELECT * FROM ${source}`) : await insertStaged(context, root);
  for (const child of tables) {
    if (child === root || !staged(context, child)) continue;
    const kept = group.keys.duplicates ? ` WHERE ${quoteIdent(system.rootId)} IN (SELECT ${quoteIdent(system.id)} FROM ${keep})` : "";
    written[child.name] = await insertStaged(context, child, kept);
  }
  if (group.keys.duplicates) await session.run(`DROP TABLE IF EXISTS ${keep}`);
}

function staged(context: WriteContext, table: Table): boolean {
  return (context.stage.tables.get(table.name)?.rows ?? 0) > 0;
}

function target(context: WriteContext, table: Table): string {
  return context.session.table(context.dataset, table.name);
}

/** Inserts a table's staged rows segment by segment (one statement each: bounded memory). */
async function insertStaged(context: WriteContext, table: Table, where = ""): Promise<number> {
  let rows = 0;
  for (const read of segmentReads(context, table)) {
    rows += await context.session.changes(`INSERT INTO ${target(context, table)} BY NAME SELECT * EXCLUDE (${quoteIdent(sequenceColumn)}) FROM (${read})${where}`);
  }
  return rows;
}

/**
 * A table's staged rows as one SQL source: its segments joined by name (a later segment may have
 * more columns). Includes the sequence column.
 */
function readStaged(context: WriteContext, table: Table): string {
  return `(${segmentReads(context, table).join(" UNION ALL BY NAME ")})`;
}

/** read_csv over each segment file, every column typed. */
function segmentReads(context: WriteContext, table: Table): string[] {
  const staged = context.stage.tables.get(table.name)!;
  // DuckDB's default limit is 2 MiB per line; a larger record raises it just enough.
  const maximum = Math.max(2 * 1024 * 1024, staged.longest + 1024);
  return staged.segments.map((segment) => {
    const columns = segment.columns.map((name) => {
      const column = table.columns.get(name)!;
      return `${quoteLiteral(name)}: ${quoteLiteral(duckdbType(column.type, column.hint))}`;
    });
    columns.push(`${quoteLiteral(sequenceColumn)}: 'BIGINT'`);
    return `SELECT * FROM read_csv(${quoteLiteral(segment.file)}, header = true, auto_detect = false, columns = {${columns.join(", ")}}, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, max_line_size = ${maximum})`;
  });
}
