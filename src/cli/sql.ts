// `restload sql <database> "<sql>"`: run statements against a database, print the last result.
import type { CAC } from "cac";
import { RestloadError } from "../errors.ts";
import { defaultDuckdbMemoryLimit } from "../config/schema/pipeline.ts";
import { rowsToCsv, rowsToJson, rowsToTable } from "./_format.ts";
import type { Io } from "./_io.ts";
import { lockTimeoutMs, lockTimeoutOption } from "./_options.ts";

interface SqlFlags {
  json?: boolean;
  csv?: boolean;
  lockTimeout?: unknown;
}

export function registerSql(cli: CAC, io: Io): void {
  cli
    .command("sql <database> [sql]", "Run SQL against a DuckDB file and print the last result (SQL from stdin when omitted)")
    .option("--json", "Print rows as a JSON array of objects (integers stay exact)")
    .option("--csv", "Print rows as CSV with a header line")
    .option(...lockTimeoutOption)
    .example('restload sql github.duckdb "select count(*) from rest_api_data.issues"')
    .example("restload sql github.duckdb < report.sql")
    .action((database: string, sql: string | undefined, flags: SqlFlags) => runSqlCommand(io, database, sql, flags));
}

async function runSqlCommand(io: Io, database: string, sql: string | undefined, flags: SqlFlags): Promise<number> {
  if (flags.json && flags.csv) {
    throw new RestloadError("E_USAGE", "--json and --csv cannot be used together", { hint: "Pick one output format." });
  }
  const timeout = lockTimeoutMs(flags.lockTimeout);
  const text = sql === undefined ? await readSqlFromStdin(io) : String(sql);
  // DuckDB is loaded only by commands that need it, so --help and --version stay instant.
  const { openDatabase } = await import("../db/open.ts");
  const { runScript } = await import("../db/query.ts");
  const db = await openDatabase(database, { create: true, lockTimeoutMs: timeout, memoryLimit: defaultDuckdbMemoryLimit });
  try {
    await io.stderr(`database: ${db.path}\n`);
    const result = await runScript(db.connection, text);
    if (flags.json) await io.stdout(rowsToJson(result.columns, result.json) + "\n");
    else if (flags.csv) await io.stdout(result.columns.length > 0 ? rowsToCsv(result.columns, result.text) : "");
    else await io.stdout(rowsToTable(result.columns, result.types, result.text));
    return 0;
  } finally {
    db.close();
  }
}

async function readSqlFromStdin(io: Io): Promise<string> {
  if (io.stdinIsTerminal) {
    throw new RestloadError("E_USAGE", "No SQL given", {
      hint: 'Pass it as an argument (restload sql db.duckdb "select 1") or pipe it on standard input.',
    });
  }
  return io.readStdin();
}
