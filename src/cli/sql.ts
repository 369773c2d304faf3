// `restload sql <database|pipeline.toml> "<sql>"`: run statements against a database file, or a
// pipeline's database with its dataset as the default schema, and print the last result.
import { existsSync, openSync, readSync, closeSync, statSync, readFileSync } from "node:fs";
import type { CAC } from "cac";
import { RestloadError } from "../errors.ts";
import { defaultDuckdbMemoryLimit } from "../config/schema/pipeline.ts";
import { parseToml } from "../config/toml.ts";
import type { QueryResult } from "../db/query.ts";
import { rowsToCsv, rowsToJson, rowsToTable } from "./_format.ts";
import type { Io } from "./_io.ts";
import { lockTimeoutMs, lockTimeoutOption } from "./_options.ts";
import { preparePipeline } from "./_pipeline.ts";

interface SqlFlags {
  json?: boolean;
  csv?: boolean;
  database?: string;
  lockTimeout?: unknown;
}

export function registerSql(cli: CAC, io: Io): void {
  cli
    .command(
      "sql <database|pipeline> [sql]",
      "Run SQL against a DuckDB file, or a pipeline's database with its dataset as the default schema, and print the last result (SQL from stdin when omitted)",
    )
    .usage(
      'sql <database|pipeline.toml> ["<sql>"] [options]\n\n' +
        "  Runs the statements in order and prints the last one's result. Given a pipeline file, its database\n" +
        "  is opened read-only (read-write only for a script that writes) with the dataset as the default\n" +
        '  schema: restload sql github.toml "select count(*) from issues". Given a DuckDB file, tables are\n' +
        "  named with their schema, and a missing file is created.",
    )
    .option("--json", "Print rows as a JSON array of objects (integers stay exact)")
    .option("--csv", "Print rows as CSV with a header line")
    .option("--database <path>", "With a pipeline file: the DuckDB file (overrides pipeline.database)")
    .option(...lockTimeoutOption)
    .example('restload sql github.toml "select count(*) from issues"')
    .example('restload sql github.duckdb "select count(*) from rest_api_data.issues"')
    .example("restload sql github.toml < report.sql")
    .action((target: string, sql: string | undefined, flags: SqlFlags) => runSqlCommand(io, String(target), sql, flags));
}

async function runSqlCommand(rawIo: Io, target: string, sql: string | undefined, flags: SqlFlags): Promise<number> {
  if (flags.json && flags.csv) {
    throw new RestloadError("E_USAGE", "--json and --csv cannot be used together", { hint: "Pick one output format." });
  }
  const timeout = lockTimeoutMs(flags.lockTimeout);
  if (!isPipelineFile(target)) {
    if (flags.database !== undefined)
      throw new RestloadError("E_USAGE", "--database goes with a pipeline file", {
        hint: `Give the database as the first argument (restload sql ${String(flags.database)} "…"), or a pipeline file before --database.`,
      });
    const text = await sqlText(rawIo, sql, target);
    return printResult(rawIo, flags, await onDatabase(rawIo, target, text, timeout));
  }
  const { plan, io } = await preparePipeline(rawIo, target, { skipSecrets: true, database: flags.database });
  const text = await sqlText(io, sql, target);
  // DuckDB is loaded only by commands that need it, so --help and --version stay instant.
  const { runScriptOnDataset } = await import("../db/query.ts");
  const ran = await runScriptOnDataset(
    { path: plan.database, dataset: plan.dataset, lockTimeoutMs: timeout, memoryLimit: plan.duckdb_memory_limit },
    text,
  );
  await io.stderr(`database: ${ran.path}\n`);
  if (ran.datasetFound) await io.stderr(`dataset: ${plan.dataset} (the default schema, in catalog ${ran.catalog})\n`);
  else
    await io.stderr(
      `warning: the database has no dataset "${plan.dataset}" yet (run the pipeline first); the default schema is ${ran.catalog}.main\n`,
    );
  return printResult(io, flags, ran.result);
}

async function onDatabase(io: Io, database: string, text: string, timeout: number): Promise<QueryResult> {
  const { openDatabase } = await import("../db/open.ts");
  const { runScript } = await import("../db/query.ts");
  const db = await openDatabase(database, { create: true, lockTimeoutMs: timeout, memoryLimit: defaultDuckdbMemoryLimit });
  try {
    await io.stderr(`database: ${db.path}\n`);
    return await runScript(db.connection, text);
  } finally {
    db.close();
  }
}

async function printResult(io: Io, flags: SqlFlags, result: QueryResult): Promise<number> {
  if (flags.json) await io.stdout(rowsToJson(result.columns, result.json) + "\n");
  else if (flags.csv) await io.stdout(result.columns.length > 0 ? rowsToCsv(result.columns, result.text) : "");
  else await io.stdout(rowsToTable(result.columns, result.types, result.text));
  return 0;
}

async function sqlText(io: Io, sql: string | undefined, target: string): Promise<string> {
  if (sql !== undefined) return String(sql);
  if (io.stdinIsTerminal) {
    throw new RestloadError("E_USAGE", "No SQL given", {
      hint: `Pass it as an argument (restload sql ${target} "select 1") or pipe it on standard input.`,
    });
  }
  return io.readStdin();
}

// internal

/**
 * Whether `target` names a pipeline file rather than a database: a `.toml` name, or an existing
 * file that is not a DuckDB file but TOML with a `[pipeline]` table or `[[resources]]`. Anything
 * else is a database (a missing one is created, as the DuckDB CLI does).
 */
function isPipelineFile(target: string): boolean {
  if (/\.toml$/i.test(target)) return true;
  if (target === ":memory:" || !existsSync(target) || !statSync(target).isFile()) return false;
  if (isDuckdbFile(target) || statSync(target).size > 1_000_000) return false;
  try {
    const document = parseToml(readFileSync(target, "utf8"), { source: target, quoteSource: false });
    return typeof document.pipeline === "object" || Array.isArray(document.resources);
  } catch {
    return false;
  }
}

/** DuckDB files carry "DUCK" at byte 8 of their header. */
function isDuckdbFile(file: string): boolean {
  const header = new Uint8Array(12);
  const fd = openSync(file, "r");
  try {
    return readSync(fd, header, 0, 12, 0) === 12 && String.fromCharCode(...header.subarray(8)) === "DUCK";
  } finally {
    closeSync(fd);
  }
}
