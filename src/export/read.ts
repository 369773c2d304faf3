// The part of an export that holds the database: open it read-only (waiting out another
// process's lock), group each table's rows by load id with their hash sums, COPY what changed to
// Parquet files in a temp folder, close. Publishing happens after the database is closed.
import { join } from "node:path";
import { openDatabase } from "../db/open.ts";
import { quoteIdent, quoteLiteral, Session } from "../db/session.ts";
import { type SystemColumns, systemColumns } from "../normalize/system-columns.ts";
import { isSystemTable } from "../state/system-tables.ts";
import { type Change, decideChange, type LoadGroups } from "./change.ts";
import type { Column, Generation } from "./generations.ts";

export interface ReadRequest {
  readonly database: string;
  readonly dataset: string;
  readonly lockTimeoutMs: number;
  readonly memoryLimit: string;
  /** The pipeline's `system_prefix`: which columns hold load ids and row ids. */
  readonly systemPrefix: string;
  /** Whether a data table is exported. */
  readonly inScope: (table: string) => boolean;
  /** The generation each table has published now. */
  readonly previous: (table: string) => Generation | null;
  /** The temp folder Parquet files are written to, as `<table>.parquet`. */
  readonly tempDir: string;
}

export interface ReadTable {
  readonly table: string;
  readonly columns: readonly Column[];
  readonly groups: LoadGroups;
  readonly change: Change;
  /** The file written for an append or a rewrite (its rows: the new load ids, or all). */
  readonly written: { readonly temp: string; readonly loadIds: readonly string[] } | null;
}

/** The data tables of the dataset in scope, with a Parquet file for each that changed. */
export async function readTables(request: ReadRequest): Promise<{ readonly tables: ReadTable[]; readonly datasetFound: boolean }> {
  const database = await openDatabase(request.database, {
    create: false,
    readOnly: true,
    lockTimeoutMs: request.lockTimeoutMs,
    memoryLimit: request.memoryLimit,
  });
  try {
    const session = await Session.of(database);
    const found = await session.all("SELECT schema_name FROM duckdb_schemas() WHERE database_name = ? AND schema_name = ?", [
      session.catalog,
      request.dataset,
    ]);
    const columns = new Map<string, Column[]>();
    for (const row of await session.all(
      "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? ORDER BY table_name, column_index",
      [session.catalog, request.dataset],
    )) {
      const name = String(row.table_name);
      if (isSystemTable(name)) continue;
      if (!columns.has(name)) columns.set(name, []);
      columns.get(name)?.push({ name: String(row.column_name), type: String(row.data_type) });
    }
    const lineage = new Lineage(session, request.dataset, systemColumns(request.systemPrefix), columns);
    const tables: ReadTable[] = [];
    for (const [name, tableColumns] of columns)
      if (request.inScope(name)) tables.push(await readTable(session, request, name, tableColumns, await lineage.of(name)));
    return { tables, datasetFound: found.length > 0 };
  } finally {
    database.close();
  }
}

// internal

/** Where a table's rows get their load id: the FROM clause (the table as `t`) and the expression. */
interface LoadIdSource {
  readonly from: string;
  readonly loadId: string;
}

/**
 * The load id of each row. A root table has it in a column; a child table's rows take their root
 * row's, through the chain of parent tables (`<parent>__<field>`, each found by name and checked:
 * every row's parent id must be a row id of the candidate). A table whose chain cannot be found
 * (names shortened past their parent's, orphan rows) counts as one group: any change rewrites it.
 */
class Lineage {
  private readonly sources = new Map<string, LoadIdSource>();

  constructor(
    private readonly session: Session,
    private readonly dataset: string,
    private readonly system: SystemColumns,
    private readonly columns: ReadonlyMap<string, readonly Column[]>,
  ) {}

  async of(name: string): Promise<LoadIdSource> {
    const known = this.sources.get(name);
    if (known !== undefined) return known;
    const table = `${this.session.table(this.dataset, name)} AS t`;
    const chain = this.has(name, this.system.loadId) ? [] : await this.parents(name);
    let source: LoadIdSource;
    if (chain === null) source = { from: table, loadId: "''" };
    else {
      let from = table;
      let key = `t.${quoteIdent(this.has(name, this.system.loadId) ? this.system.loadId : this.system.parentId)}`;
      chain.forEach((parent, index) => {
        const next = index === chain.length - 1 ? this.system.loadId : this.system.parentId;
        const alias = `p${index + 1}`;
        from += ` LEFT JOIN (SELECT ${quoteIdent(this.system.id)} AS k, min(${quoteIdent(next)}) AS v FROM ${this.session.table(this.dataset, parent)} GROUP BY 1) AS ${alias} ON ${key} = ${alias}.k`;
        key = `${alias}.v`;
      });
      source = { from, loadId: `coalesce(${key}, '')` };
    }
    this.sources.set(name, source);
    return source;
  }

  /** The tables from `name`'s parent up to its root (the first with a load id column); null when not found. */
  private async parents(name: string): Promise<string[] | null> {
    if (!this.has(name, this.system.parentId)) return null;
    const candidates = [...this.columns.keys()].filter((other) => name.startsWith(`${other}__`)).sort((a, b) => b.length - a.length);
    for (const parent of candidates) {
      if (!this.has(parent, this.system.id)) continue;
      const [orphans] = await this.session.all(
        `SELECT count(*) AS n FROM ${this.session.table(this.dataset, name)} AS c ANTI JOIN ${this.session.table(this.dataset, parent)} AS p ON c.${quoteIdent(this.system.parentId)} = p.${quoteIdent(this.system.id)}`,
      );
      if (Number(orphans?.n ?? 1) !== 0) continue;
      if (this.has(parent, this.system.loadId)) return [parent];
      const above = await this.parents(parent);
      if (above !== null) return [parent, ...above];
    }
    return null;
  }

  private has(table: string, column: string): boolean {
    return this.columns.get(table)?.some((each) => each.name === column) ?? false;
  }
}

async function readTable(
  session: Session,
  request: ReadRequest,
  name: string,
  columns: readonly Column[],
  source: LoadIdSource,
): Promise<ReadTable> {
  const hashed = columns.map((column) => `t.${quoteIdent(column.name)}`).join(", ");
  const groups: LoadGroups = new Map(
    (
      await session.all(
        `SELECT ${source.loadId} AS id, count(*) AS n, sum(hash(${hashed})::HUGEINT)::VARCHAR AS h FROM ${source.from} GROUP BY 1 ORDER BY 1`,
      )
    ).map((row) => [String(row.id), { rows: Number(row.n), hash: String(row.h) }]),
  );
  const change = decideChange(request.previous(name), columns, groups);
  if (change.kind === "unchanged") return { table: name, columns, groups, change, written: null };
  const loadIds = change.kind === "append" ? change.loadIds : [...groups.keys()];
  const where = change.kind === "append" ? ` WHERE ${source.loadId} IN (${loadIds.map(quoteLiteral).join(", ")})` : "";
  const temp = join(request.tempDir, `${name}.parquet`);
  const select = columns.map((column) => exportedColumn(column)).join(", ");
  await session.run(
    `COPY (SELECT ${select} FROM ${source.from}${where} ORDER BY ${source.loadId}) TO ${quoteLiteral(temp)} (FORMAT parquet, COMPRESSION snappy)`,
  );
  return { table: name, columns, groups, change, written: { temp, loadIds } };
}

/**
 * A column as Parquet gets it, exact: DuckDB writes HUGEINT as a DOUBLE, so it goes as
 * DECIMAL(38,0); JSON goes as its text. Other types (BIGINT, DECIMAL, TIMESTAMPTZ as a UTC
 * timestamp) map to Parquet as they are.
 */
function exportedColumn({ name, type }: Column): string {
  const column = `t.${quoteIdent(name)}`;
  const as = quoteIdent(name);
  if (type === "HUGEINT" || type === "UHUGEINT") return `CAST(${column} AS DECIMAL(38,0)) AS ${as}`;
  if (type === "JSON") return `CAST(${column} AS VARCHAR) AS ${as}`;
  return `${column} AS ${as}`;
}
