// Runs a script of SQL statements and returns the last result as plain data for printing.
import {
  type DuckDBConnection,
  type DuckDBResultReader,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBValueConverter,
  DuckDBTypeId,
  type Json,
  JsonDuckDBValueConverter,
  ResultReturnType,
} from "@duckdb/node-api";
import { RestloadError, messageOf } from "../errors.ts";

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
  try {
    const statements = await connection.extractStatements(sql);
    if (statements.count === 0) {
      throw new RestloadError("E_SQL", "Cannot run the SQL as it holds no statement", {
        hint: 'Pass a statement, e.g. restload sql db.duckdb "show all tables"',
      });
    }
    let reader: DuckDBResultReader | undefined;
    for (let index = 0; index < statements.count; index++) {
      const prepared = await statements.prepare(index);
      reader = await prepared.runAndReadAll();
    }
    return toResult(reader!);
  } catch (error) {
    if (error instanceof RestloadError) throw error;
    throw new RestloadError("E_SQL", messageOf(error).replace(/^Failed to extract statements: /, ""), {
      hint: "Fix the statement; `show all tables` lists what the database holds.",
      cause: error,
    });
  }
}

// internal

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
