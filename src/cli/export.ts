// `restload export <pipeline.toml> [--to DIR]`: the dataset's tables as Parquet files under
// `DIR/<dataset>/<table>/`, published atomically for readers; unchanged tables write nothing.
import type { CAC } from "cac";
import { RestloadError } from "../errors.ts";
import { inExportScope } from "../export/scope.ts";
import { plural } from "../util/plural.ts";
import { toJson } from "./_format.ts";
import type { Io } from "./_io.ts";
import { lockTimeoutMs, lockTimeoutOption } from "./_options.ts";
import { preparePipeline, selectRoots } from "./_pipeline.ts";

interface ExportFlags {
  to?: unknown;
  select?: unknown;
  json?: boolean;
  database?: string;
  lockTimeout?: unknown;
}

export function registerExport(cli: CAC, io: Io): void {
  cli
    .command("export <pipeline>", "Publish the dataset's tables as Parquet under DIR/<dataset>/<table>/, atomically for readers")
    .usage(
      "export <pipeline.toml> [--to DIR] [options]\n\n" +
        "  Publishes each data table of the dataset (child tables included) as Parquet files in\n" +
        "  DIR/<dataset>/<table>/, with DuckDB's types, and DIR/<dataset>/_manifest.json listing tables, files,\n" +
        "  rows and load ids. Read a table with a glob: read_parquet('DIR/<dataset>/<table>/*.parquet').\n" +
        "  Unchanged tables write nothing; tables that only gained rows (append) get one new file; tables\n" +
        "  whose rows changed (merge, replace, scd2) get a new complete set. Each table's new set is swapped in\n" +
        "  at once, so a reader lists the old set or the new one, never a mix. DIR defaults to the pipeline's\n" +
        "  [export] dir. Holds the database only while it reads, waiting for another process up to --lock-timeout.",
    )
    .option("--to <dir>", "The export folder (default: [export] dir of the pipeline)")
    .option("--select <names>", "Only the tables of these root resources' load units (comma-separated)")
    .option("--json", "Print what was exported as JSON")
    .option("--database <path>", "DuckDB file (overrides pipeline.database)")
    .option(...lockTimeoutOption)
    .example("restload export github.toml --to /srv/lake")
    .example("restload export github.toml --to /srv/lake --select issues")
    .action((file: string, flags: ExportFlags) => runExport(io, String(file), flags));
}

async function runExport(rawIo: Io, file: string, flags: ExportFlags): Promise<number> {
  if (flags.to !== undefined && (typeof flags.to !== "string" || flags.to === ""))
    throw new RestloadError("E_USAGE", "--to needs a folder", { hint: `Pass the export folder: restload export ${file} --to ./lake` });
  const timeout = lockTimeoutMs(flags.lockTimeout);
  const { plan, io } = await preparePipeline(rawIo, file, { skipSecrets: true, database: flags.database });
  const dir = typeof flags.to === "string" ? flags.to : plan.export?.dir;
  if (dir === undefined)
    throw new RestloadError("E_USAGE", "export needs a folder: --to DIR, or [export] dir in the pipeline file", {
      hint: `Pass the export folder: restload export ${file} --to ./lake`,
    });
  const roots = flags.select === undefined ? undefined : selectRoots(plan, flags.select);
  // DuckDB is loaded only by commands that need it, so --help and --version stay instant.
  const { exportDataset } = await import("../export/index.ts");
  await io.stderr(`database: ${plan.database}\n`);
  const result = await exportDataset({
    database: plan.database,
    dataset: plan.dataset,
    dir,
    lockTimeoutMs: timeout,
    memoryLimit: plan.duckdb_memory_limit,
    systemPrefix: plan.system_prefix,
    inScope: (table) => inExportScope(plan, roots, table),
    runId: null,
    signal: rawIo.signal,
    onCrashPoint: rawIo.onCrashPoint,
  });
  if (!result.dataset_found)
    await io.stderr(`warning: the database has no dataset "${plan.dataset}" yet (run the pipeline first); nothing was exported\n`);
  if (result.record_error !== null)
    await io.stderr(`warning: the export is published, but could not be recorded in _rl_exports: ${result.record_error}\n`);
  if (flags.json) {
    await io.stdout(`${toJson({ dataset: plan.dataset, ...result }, 2)}\n`);
    return 0;
  }
  for (const table of result.tables) {
    const wrote =
      table.file === null ? "" : `, wrote ${table.file} (${plural(table.rows_written, "row")}, ${plural(table.bytes_written, "byte")})`;
    await io.stdout(`${table.status} ${table.table}: ${plural(table.rows, "row")}${wrote}\n`);
  }
  const written = result.tables.filter((table) => table.file !== null).length;
  await io.stdout(`exported ${plural(written, "table")} of ${result.tables.length} to ${result.dir} (manifest ${result.manifest})\n`);
  return 0;
}
