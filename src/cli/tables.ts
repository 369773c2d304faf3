// `restload tables <pipeline.toml>`: the dataset's tables, their row counts and last load.
import type { CAC } from "cac";
import { rowsToTable, toJson } from "./_format.ts";
import type { Io } from "./_io.ts";
import { lockTimeoutMs, lockTimeoutOption } from "./_options.ts";
import { preparePipeline } from "./_pipeline.ts";

interface TablesFlags {
  database?: string;
  json?: boolean;
  lockTimeout?: unknown;
}

export function registerTables(cli: CAC, io: Io): void {
  cli
    .command("tables <pipeline>", "List the pipeline's tables with row counts and their last load (read-only)")
    .option("--database <path>", "DuckDB file (overrides pipeline.database)")
    .option("--json", "Print as JSON")
    .option(...lockTimeoutOption)
    .action((file: string, flags: TablesFlags) => runTables(io, file, flags));
}

async function runTables(rawIo: Io, file: string, flags: TablesFlags): Promise<number> {
  const timeout = lockTimeoutMs(flags.lockTimeout);
  const { plan, io } = await preparePipeline(rawIo, file, { skipSecrets: true, database: flags.database });
  const { listTables } = await import("../state/tables.ts");
  const tables = await listTables(plan.database, plan.dataset, timeout, plan.duckdb_memory_limit);
  await io.stderr(`database: ${plan.database}\n`);
  if (flags.json) {
    await io.stdout(`${toJson(tables, 2)}\n`);
    return 0;
  }
  const rows = tables.map((table) => [table.table, String(table.rows), table.last_load_id ?? "", table.last_loaded_at ?? ""]);
  await io.stdout(rowsToTable(["table", "rows", "last load", "loaded at"], ["VARCHAR", "BIGINT", "VARCHAR", "VARCHAR"], rows));
  return 0;
}
