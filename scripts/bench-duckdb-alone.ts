// The storage floor of the benchmarks: DuckDB alone storing rows a run loaded, with no HTTP, no
// JSON and no normalisation. Whatever a loader does before DuckDB, it cannot be faster (or, with
// the same memory limit, smaller) than this on the same machine.
//
// Usage:
//   bun scripts/bench-duckdb-alone.ts export <database> <dataset> <dir>
//       writes every data table of <dataset> (not the _rl_ tables) to CSV files in <dir> of
//       50,000 rows each (the size of a run's segments), and their columns and files to
//       <dir>/tables.json (not measured)
//   bun scripts/bench-duckdb-alone.ts load <dir> <new database> <memory limit>
//       creates the tables in a new database file with the settings of a run (one DuckDB thread,
//       the run's memory limit), then in one transaction reads each CSV file with its columns
//       typed and inserts it, commits and closes (measured). Prints the rows stored per table.
//       The tables are loaded one after the other (a run interleaves them as pages come).
import { DuckDBInstance } from "@duckdb/node-api";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDatabase, runRowGroupSize } from "../src/db/open.ts";

interface TableSpec {
  readonly name: string;
  readonly columns: { readonly name: string; readonly type: string }[];
  readonly files: string[];
}

/** Rows per file: a run loads its staged rows in segments of at most this many. */
const segmentRows = 50_000;

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

const [command, ...rest] = process.argv.slice(2);
if (command === "export") {
  const [database, dataset, dir] = rest;
  if (!database || !dataset || !dir) throw new Error("usage: export <database> <dataset> <dir>");
  const instance = await DuckDBInstance.create(database, { access_mode: "READ_ONLY" });
  const connection = await instance.connect();
  const reader = await connection.runAndReadAll(
    `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = ${literal(dataset)} AND table_name NOT LIKE '\\_rl\\_%' ESCAPE '\\' ORDER BY table_name, ordinal_position`,
  );
  const tables = new Map<string, TableSpec>();
  for (const [table, column, type] of reader.getRows() as [string, string, string][]) {
    let spec = tables.get(table);
    if (!spec) tables.set(table, (spec = { name: table, columns: [], files: [] }));
    spec.columns.push({ name: column, type });
  }
  for (const table of tables.values()) {
    const source = `${ident(dataset)}.${ident(table.name)}`;
    const count = Number((await connection.runAndReadAll(`SELECT count(*) FROM ${source}`)).getRows()[0]![0]);
    for (let offset = 0; offset < count; offset += segmentRows) {
      const file = join(dir, `${table.name}-${table.files.length}.csv`);
      await connection.run(
        `COPY (SELECT * FROM ${source} ORDER BY rowid LIMIT ${segmentRows} OFFSET ${offset}) TO ${literal(file)} (HEADER, DELIMITER ',')`,
      );
      table.files.push(file);
    }
  }
  writeFileSync(join(dir, "tables.json"), JSON.stringify([...tables.values()]));
  connection.closeSync();
  instance.closeSync();
} else if (command === "load") {
  const [dir, database, memoryLimit] = rest;
  if (!dir || !database || !memoryLimit) throw new Error("usage: load <dir> <new database> <memory limit>");
  const tables = JSON.parse(readFileSync(join(dir, "tables.json"), "utf8")) as TableSpec[];
  // Opened as a run opens its database (src/run/index.ts).
  const opened = await openDatabase(database, { create: true, lockTimeoutMs: 0, memoryLimit, threads: 1, rowGroupSize: runRowGroupSize });
  const connection = opened.connection;
  for (const table of tables)
    await connection.run(
      `CREATE TABLE ${ident(table.name)} (${table.columns.map((column) => `${ident(column.name)} ${column.type}`).join(", ")})`,
    );
  await connection.run("BEGIN TRANSACTION");
  const stored: Record<string, number> = {};
  for (const table of tables) {
    const columns = table.columns.map((column) => `${literal(column.name)}: ${literal(column.type)}`).join(", ");
    for (const file of table.files) {
      const result = await connection.run(
        `INSERT INTO ${ident(table.name)} SELECT * FROM read_csv(${literal(file)}, header = true, auto_detect = false, columns = {${columns}}, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false)`,
      );
      stored[table.name] = (stored[table.name] ?? 0) + Number(result.rowsChanged);
    }
  }
  await connection.run("COMMIT");
  opened.close();
  console.log(JSON.stringify(stored));
} else {
  throw new Error("usage: bench-duckdb-alone.ts export|load …");
}
