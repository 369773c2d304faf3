// The SQL surface the other stages use: statements, rows as plain objects, transactions, quoting.
import { type DuckDBConnection, type DuckDBValue, JsonDuckDBValueConverter } from "@duckdb/node-api";
import { RestloadError, messageOf } from "../errors.ts";
import type { Database } from "./open.ts";

export type SqlValue = string | number | bigint | boolean | null;

/** Rows as objects of JSON-safe values (BIGINT as string, timestamps as text). */
export type SqlRow = Record<string, unknown>;

/**
 * A connection wrapped so no other module needs DuckDB's types.
 *
 * @example
 * await session.run(`insert into ${session.table("main", "t")} values (?, ?)`, [1, "a"]);
 */
export class Session {
  readonly path: string;
  /** The catalog of the opened file, as DuckDB names it (the file name without extension). */
  readonly catalog: string;
  private readonly connection: DuckDBConnection;

  private constructor(database: Database, catalog: string) {
    this.path = database.path;
    this.connection = database.connection;
    this.catalog = catalog;
  }

  static async of(database: Database): Promise<Session> {
    const reader = await database.connection.runAndReadAll("select current_database() as name");
    return new Session(database, String(reader.getRowObjectsJson()[0]?.name));
  }

  /** Runs one statement (with `?` parameters). */
  async run(sql: string, values: readonly SqlValue[] = []): Promise<void> {
    try {
      await this.connection.run(sql, values as DuckDBValue[]);
    } catch (error) {
      throw sqlError(sql, error);
    }
  }

  /** Runs one statement and returns the number of rows it inserted, updated or deleted. */
  async changes(sql: string, values: readonly SqlValue[] = []): Promise<number> {
    try {
      const result = await this.connection.run(sql, values as DuckDBValue[]);
      return Number(result.rowsChanged);
    } catch (error) {
      throw sqlError(sql, error);
    }
  }

  /** Runs a query and returns its rows. */
  async all(sql: string, values: readonly SqlValue[] = []): Promise<SqlRow[]> {
    try {
      const reader = await this.connection.runAndReadAll(sql, values as DuckDBValue[]);
      return reader.convertRowObjects(JsonDuckDBValueConverter) as SqlRow[];
    } catch (error) {
      throw sqlError(sql, error);
    }
  }

  /** Runs `work` inside BEGIN … COMMIT; rolls back and rethrows on any failure. */
  async transaction<T>(work: () => Promise<T>): Promise<T> {
    await this.run("BEGIN TRANSACTION");
    try {
      const result = await work();
      await this.run("COMMIT");
      return result;
    } catch (error) {
      await this.run("ROLLBACK").catch(() => {});
      throw error;
    }
  }

  /** `"catalog"."schema"."table"`: every statement names tables fully. */
  table(schema: string, table: string): string {
    return `${quoteIdent(this.catalog)}.${quoteIdent(schema)}.${quoteIdent(table)}`;
  }
}

/** `"name"` with inner quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `'text'` with inner quotes doubled. */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function sqlError(sql: string, error: unknown): RestloadError {
  const statement = sql.replace(/\s+/g, " ").slice(0, 160);
  return new RestloadError("E_SQL", `${messageOf(error)} (in: ${statement})`, { cause: error });
}
