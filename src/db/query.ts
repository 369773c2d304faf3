// What `restload sql` runs: a script of SQL statements, its last result as plain data for
// printing, on a database file or on a pipeline's dataset (its default schema).
import {
  type DuckDBConnection,
  type DuckDBExtractedStatements,
  type DuckDBPreparedStatement,
  type DuckDBResultReader,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBValueConverter,
  DuckDBTypeId,
  type Json,
  JsonDuckDBValueConverter,
  ResultReturnType,
  StatementType,
} from "@duckdb/node-api";
import { RestloadError, messageOf } from "../errors.ts";
import { attachFile, catalogName, type Database, openDatabase, withLockRetry } from "./open.ts";
import { quoteIdent } from "./session.ts";

/** A value ready for `JSON.stringify`: exact integers and decimals are `JSON.rawJSON` numbers. */
export type JsonCell = unknown;

export interface QueryResult {
  /** Column names, made unique the way DuckDB does (`a`, `a_1`). */
  readonly columns: readonly string[];
  /** DuckDB type names, e.g. `BIGINT`, `TIMESTAMP WITH TIME ZONE`. */
  readonly types: readonly string[];
  /** Each cell as DuckDB prints it (`[1, 2]`, `{'a': 1}`), or null. */
  readonly text: readonly (readonly (string | null)[])[];
  /** Each cell as a JSON value; integers of any size stay exact. */
  readonly json: readonly (readonly JsonCell[])[];
}

/**
 * Runs every statement of `sql` in order and returns the result of the last one (no columns
 * when that statement returns nothing, like CREATE).
 * Fails with E_SQL and DuckDB's own message on the first statement that fails.
 *
 * @example
 * const result = await runScript(db.connection, "create table t(a int); insert into t values (1); from t");
 * result.text; // [["1"]]
 */
export async function runScript(connection: DuckDBConnection, sql: string): Promise<QueryResult> {
  const ran = await runAll(await extract(connection, sql));
  if ("error" in ran) throw sqlError(ran.error);
  return ran.result;
}

export interface DatasetQuery {
  /** The database file; it must exist. */
  readonly path: string;
  /** The schema unqualified names resolve in. */
  readonly dataset: string;
  readonly lockTimeoutMs: number;
  readonly memoryLimit: string;
}

export interface DatasetResult {
  readonly result: QueryResult;
  /** The absolute path of the database file. */
  readonly path: string;
  /** The catalog the file was attached as: DuckDB's name for it, or `<name>_db` when a schema has that name. */
  readonly catalog: string;
  /** Whether the dataset exists in the file (when not, `main` stayed the default schema). */
  readonly datasetFound: boolean;
}

/**
 * Runs `sql` with the dataset as the default schema (`select count(*) from issues`). Whether the
 * file is opened read-only is decided before any statement runs, and no statement ever runs
 * twice: a script of queries only (`readsOnly`) runs on a read-only open, so readers do not shut
 * each other out; any other script runs on a read-write open from its start. The catalog never
 * shares a name with a schema of the file, so `blog.users` means schema `blog` of `blog.duckdb`,
 * not an ambiguous reference.
 *
 * @example
 * const { result } = await runScriptOnDataset({ path: "blog.duckdb", dataset: "blog", lockTimeoutMs: 30_000, memoryLimit: "128MB" }, "describe blog.users");
 */
export async function runScriptOnDataset(query: DatasetQuery, sql: string): Promise<DatasetResult> {
  const readOnly = await openOnDataset(query, { readOnly: true });
  try {
    const statements = await extract(readOnly.database.connection, sql);
    if (await readsOnly(statements, readOnly.catalog)) {
      // Preparing takes a statement out of its extraction: the run extracts them again.
      const ran = await runAll(await extract(readOnly.database.connection, sql));
      if ("result" in ran)
        return { result: ran.result, path: readOnly.database.path, catalog: readOnly.catalog, datasetFound: readOnly.datasetFound };
      // Refused before anything ran (`select nextval('s')` reads like a query): read-write from the start.
      if (ran.index > 0 || !refusedAsReadOnly(ran.error, readOnly.catalog)) throw refusedAfter(ran, statements.count, readOnly.catalog);
    }
  } finally {
    readOnly.database.close();
  }
  const readWrite = await openOnDataset(query, { readOnly: false });
  try {
    const ran = await runAll(await extract(readWrite.database.connection, sql));
    if ("error" in ran) throw sqlError(ran.error);
    return { result: ran.result, path: readWrite.database.path, catalog: readWrite.catalog, datasetFound: readWrite.datasetFound };
  } finally {
    readWrite.database.close();
  }
}

// internal

/**
 * The statement types that never write to an attached file, so a script of only these runs on a
 * read-only open: SELECT (DuckDB turns DESCRIBE, SHOW, SUMMARIZE and PRAGMA table_info… into
 * one), EXPLAIN, SET and USE, BEGIN/COMMIT. Any other type, or one DuckDB adds later, counts as a
 * write. A query that still writes (`select nextval('s')`, EXPLAIN ANALYZE of an INSERT) is
 * refused by DuckDB before it runs (`refusedAfter`).
 */
const queryTypes = new Set<StatementType>([
  StatementType.SELECT,
  StatementType.EXPLAIN,
  StatementType.SET,
  StatementType.VARIABLE_SET,
  StatementType.TRANSACTION,
]);

/**
 * Whether every statement is a query (`queryTypes`), found by preparing them (nothing runs). A
 * statement that cannot be prepared before the ones above it ran (it names a table the script
 * creates) counts as a write; the first one failing is the script's error, as nothing precedes it.
 */
async function readsOnly(statements: DuckDBExtractedStatements, catalog: string): Promise<boolean> {
  for (let index = 0; index < statements.count; index++) {
    let prepared: DuckDBPreparedStatement;
    try {
      prepared = await statements.prepare(index);
    } catch (error) {
      if (index === 0 && !refusedAsReadOnly(error, catalog)) throw sqlError(error);
      return false;
    }
    const query = queryTypes.has(prepared.statementType);
    prepared.destroySync();
    if (!query) return false;
  }
  return true;
}

/** The statements of `sql`; E_SQL when it holds none or does not parse. */
async function extract(connection: DuckDBConnection, sql: string): Promise<DuckDBExtractedStatements> {
  let statements: DuckDBExtractedStatements;
  try {
    statements = await connection.extractStatements(sql);
  } catch (error) {
    throw sqlError(error);
  }
  if (statements.count === 0) {
    throw new RestloadError("E_SQL", "Cannot run the SQL as it holds no statement", {
      hint: 'Pass a statement, e.g. restload sql db.duckdb "show all tables"',
    });
  }
  return statements;
}

type Ran = { readonly result: QueryResult } | { readonly index: number; readonly error: unknown };

/** Runs the statements in order, stopping at the first that fails: the last result, or the failure and which statement (0-based) it was. */
async function runAll(statements: DuckDBExtractedStatements): Promise<Ran> {
  let reader: DuckDBResultReader | undefined;
  for (let index = 0; index < statements.count; index++) {
    try {
      reader = await (await statements.prepare(index)).runAndReadAll();
    } catch (error) {
      return { index, error };
    }
  }
  return { result: toResult(reader!) };
}

function sqlError(error: unknown): RestloadError {
  if (error instanceof RestloadError) return error;
  return new RestloadError("E_SQL", messageOf(error).replace(/^Failed to extract statements: /, ""), {
    hint: "Fix the statement; `show all tables` lists what the database holds.",
    cause: error,
  });
}

/**
 * The failure of a script run read-only. A query DuckDB refuses as a write after other statements
 * ran cannot be retried read-write without running those again, so it fails and says so.
 */
function refusedAfter(ran: { readonly index: number; readonly error: unknown }, count: number, catalog: string): RestloadError {
  if (!refusedAsReadOnly(ran.error, catalog)) return sqlError(ran.error);
  const number = ran.index + 1;
  const before = ran.index === 1 ? "Statement 1 ran and is" : `Statements 1 to ${ran.index} ran and are`;
  return new RestloadError(
    "E_SQL",
    `Cannot run statement ${number} of ${count} as it writes to the database, opened read-only as the script held only queries: ${messageOf(ran.error)}`,
    {
      hint: `${before} not run again. Run statement ${number} in a script of its own, or add a statement that writes (e.g. CHECKPOINT) so the script opens read-write.`,
      cause: ran.error,
    },
  );
}

/** The database opened with the dataset as the default schema, read-only or read-write. */
async function openOnDataset(
  query: DatasetQuery,
  { readOnly }: { readonly readOnly: boolean },
): Promise<{ readonly database: Database; readonly catalog: string; readonly datasetFound: boolean }> {
  const database = await openDatabase(query.path, {
    create: false,
    readOnly,
    lockTimeoutMs: query.lockTimeoutMs,
    memoryLimit: query.memoryLimit,
  });
  try {
    const catalog = await attachUnambiguously(database.connection, database.path, { readOnly, lockTimeoutMs: query.lockTimeoutMs });
    return { database, catalog, datasetFound: await useSchema(database.connection, catalog, query.dataset) };
  } catch (error) {
    database.close();
    throw error;
  }
}

/**
 * The attached file's catalog, renamed when a schema of the file has its name (`blog.duckdb`
 * holding schema `blog`), since DuckDB then refuses `blog.users` as ambiguous. DuckDB cannot
 * rename a catalog, so the file is detached and attached again as `<name>_db`.
 */
async function attachUnambiguously(
  connection: DuckDBConnection,
  file: string,
  options: { readonly readOnly: boolean; readonly lockTimeoutMs: number },
): Promise<string> {
  const reader = await connection.runAndReadAll("SELECT lower(schema_name) FROM duckdb_schemas() WHERE database_name = current_database()");
  const schemas = new Set(reader.getRows().map((row) => String(row[0])));
  let catalog = catalogName(file);
  if (!schemas.has(catalog.toLowerCase())) return catalog;
  const attached = catalog;
  while (schemas.has(catalog.toLowerCase())) catalog = `${catalog}_db`;
  await connection.run("USE memory.main");
  await connection.run(`DETACH ${quoteIdent(attached)}`);
  await withLockRetry(file, { lockTimeoutMs: options.lockTimeoutMs }, () =>
    attachFile(connection, file, { readOnly: options.readOnly, catalog }),
  );
  return catalog;
}

/** `USE catalog.schema` when the schema exists (matched as DuckDB matches names, case-insensitively); false when it does not. */
async function useSchema(connection: DuckDBConnection, catalog: string, schema: string): Promise<boolean> {
  const reader = await connection.runAndReadAll(
    "SELECT schema_name FROM duckdb_schemas() WHERE database_name = $catalog AND lower(schema_name) = lower($schema)",
    { catalog, schema },
  );
  const found = reader.getRows()[0]?.[0];
  if (found === undefined) return false;
  await connection.run(`USE ${quoteIdent(catalog)}.${quoteIdent(String(found))}`);
  return true;
}

/** DuckDB refused a statement as it would write to the file attached read-only as `catalog`. */
function refusedAsReadOnly(error: unknown, catalog: string): boolean {
  return messageOf(error).includes(`on database "${catalog}" which is attached in read-only mode`);
}

const exactNumberTypes = new Set<DuckDBTypeId>([
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.UBIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UHUGEINT,
  DuckDBTypeId.DECIMAL,
  DuckDBTypeId.BIGNUM,
]);

// DuckDB's own JSON converter turns BIGINT and DECIMAL into strings; a query result should keep
// them numbers, and exact, so they are emitted as raw JSON number text.
const jsonConverter: DuckDBValueConverter<JsonCell> = (value: DuckDBValue, type: DuckDBType, converter) =>
  value !== null && exactNumberTypes.has(type.typeId)
    ? JSON.rawJSON(String(value))
    : JsonDuckDBValueConverter(value, type, converter as DuckDBValueConverter<Json>);

function toResult(reader: DuckDBResultReader): QueryResult {
  // DDL and SET come back with a placeholder "Count" column: there is nothing to print.
  if (reader.returnType === ResultReturnType.NOTHING) return { columns: [], types: [], text: [], json: [] };
  const rows = reader.getRows();
  const types = reader.columnTypes();
  return {
    columns: reader.deduplicatedColumnNames(),
    types: types.map(String),
    text: rows.map((row) => row.map((cell) => (cell === null ? null : String(cell)))),
    json: reader.convertRows(jsonConverter),
  };
}
