// `restload run <pipeline.toml>`: extract, normalise and load every selected unit; log on stderr, print a summary.
import type { CAC } from "cac";
import { RestloadError } from "../errors.ts";
import { runtimeFetch } from "../runtime/fetch.ts";
import { toJson } from "../util/json.ts";
import { errorJson } from "./_format.ts";
import { type Io, isOutputClosed } from "./_io.ts";
import { lockTimeoutMs, lockTimeoutOption, secondsFlag } from "./_options.ts";
import { preparePipeline, selectRoots } from "./_pipeline.ts";
import { type RunExport, exportAfterRun, exportFolder, exportsAfter } from "./_run-export.ts";
import { RunLog, type RunLogOptions } from "./_run-log.ts";
import { type LogLevel, logLevels } from "./_run-log-lines.ts";
import { type RunReport, summaryText } from "./_run-summary.ts";

interface RunFlags {
  select?: unknown;
  database?: string;
  secrets?: string;
  json?: boolean;
  logFormat?: string;
  logLevel?: string;
  progressInterval?: unknown;
  lockTimeout?: unknown;
  dryRun?: boolean;
  fullRefresh?: boolean;
}

export function registerRun(cli: CAC, io: Io): void {
  cli
    .command(
      "run <pipeline>",
      "Extract every resource and load it into the DuckDB file, each load unit committed in checkpoints (holding the file only while writing)",
    )
    .usage(
      "run <pipeline.toml> [options]\n\n" +
        "  Runs the pipeline's load units (all, or those of --select), each committed in checkpoints; exits 0 when\n" +
        '  every unit committed, 1 when one failed. With [export] dir = "…" in the pipeline file, a run whose every\n' +
        "  unit committed then exports those units' tables as Parquet to <dir>/<dataset>/<table>/, as restload export\n" +
        "  does; a failed export exits with its error's code (1; 75 locked; 78 another database's folder) and the\n" +
        "  run's rows stay committed. Failed, interrupted and dry runs never export.",
    )
    .option("--select <names>", "Only the load units of these root resources (comma-separated)")
    .option("--database <path>", "DuckDB file to load (overrides pipeline.database)")
    .option(
      "--secrets <path>",
      "Secrets file (default: secrets.toml, then .restload/secrets.toml, then .dlt/secrets.toml beside the pipeline)",
    )
    .option("--full-refresh", "Reset the selected resources' incremental cursors and replace their tables")
    .option("--dry-run", "Extract and normalise, print what would be loaded; the database is not opened (cursors start from initial_value)")
    .option("--json", "Print the summary as JSON")
    .option("--log-format <format>", "Log lines on stderr: text (default) or json (one object per event)")
    .option("--log-level <level>", "Least severe log lines written: error, warn, info (default) or debug (adds every page)")
    .option(
      "--progress-interval <duration>",
      "Between two progress lines of a resource, off a terminal: seconds or e.g. 2m, 1s at least (default: 30s)",
    )
    .option(...lockTimeoutOption)
    .example("restload run github.toml --select issues")
    .example("restload run github.toml --log-format json --progress-interval 1m")
    .action((file: string, flags: RunFlags) => runCommand(io, file, flags));
}

async function runCommand(rawIo: Io, file: string, flags: RunFlags): Promise<number> {
  const logOptions = runLogOptions(flags);
  const timeout = lockTimeoutMs(flags.lockTimeout);
  const log = new RunLog(rawIo, logOptions);
  // Once the pipeline is read, everything written goes through the Io that masks its secrets.
  let io = rawIo;
  const redacting = (masked: Io) => {
    io = masked;
    log.useIo(masked);
  };
  try {
    return await runWith(rawIo, file, flags, { log, lockTimeoutMs: timeout, redacting });
  } catch (error) {
    // Once `run_finished` is written the run's outcome is told; what fails after it (stdout
    // failing otherwise than by its reader leaving) is the command's own error.
    if (log.hasEnded) throw error;
    // An error that ends the whole command (configuration, secrets, the lock) ends the log too:
    // `run_failed` and `run_finished`. A fault of restload itself keeps its own report in text.
    if (!(error instanceof RestloadError) && logOptions.format !== "json") throw error;
    const exitCode = await log.failed(error);
    if (flags.json) await stdoutUnlessClosed(io, `${toJson(errorJson(error), 2)}\n`);
    return exitCode;
  } finally {
    log.close();
  }
}

async function runWith(
  rawIo: Io,
  file: string,
  flags: RunFlags,
  run: { readonly log: RunLog; readonly lockTimeoutMs: number; readonly redacting: (io: Io) => void },
): Promise<number> {
  const { log } = run;
  const prepared = await preparePipeline(rawIo, file, { secretsFile: flags.secrets, database: flags.database });
  const { io, plan } = prepared;
  run.redacting(io);
  const roots = flags.select === undefined ? undefined : selectRoots(plan, flags.select);
  // DuckDB is loaded only when a command needs it, so --help and --version stay instant.
  const { dryRun, runPipeline } = await import("../run/index.ts");
  const options = {
    plan,
    secrets: prepared.secrets,
    redactor: prepared.redactor,
    units: roots?.map((resource) => resource.unit),
    fetch: log.countRequests(runtimeFetch(plan.client.ca_certificates, prepared.loaded.dir)),
    onEvent: log.onEvent,
    onCrashPoint: rawIo.onCrashPoint,
  };
  const summary = flags.dryRun
    ? await dryRun(options)
    : await runPipeline({ ...options, lockTimeoutMs: run.lockTimeoutMs, signal: rawIo.signal, fullRefresh: flags.fullRefresh });
  // The run has released the database: the export reads it like any other command. Its outcome
  // changes the command's exit code, never the run's (committed and recorded as it ended).
  let exported: RunExport | null = null;
  if (exportsAfter(plan, { exitCode: summary.exit_code, dryRun: flags.dryRun === true }) && rawIo.signal?.aborted !== true) {
    log.exportStarted(exportFolder(plan));
    exported = await exportAfterRun({
      plan,
      roots,
      runId: summary.run_id,
      lockTimeoutMs: run.lockTimeoutMs,
      redact: (text) => prepared.redactor.redact(text),
      signal: rawIo.signal,
      onCrashPoint: rawIo.onCrashPoint,
    });
    log.exportEnded(exported);
  }
  const report: RunReport = {
    ...summary,
    // A failed export exits as its error says (§7: 75 when the database stayed locked, 130/143 when interrupted, else 1).
    exit_code: exported?.status === "failed" ? exported.error.exit_code : summary.exit_code,
    export: exported,
  };
  // The log's last line first, from the summary: the run has ended (and is recorded) whatever
  // becomes of stdout, so a reader that went away (`| head`) changes neither its line nor its exit code.
  await log.finished({ ...report, export: exported?.status ?? null });
  await stdoutUnlessClosed(io, flags.json ? `${toJson(report, 2)}\n` : summaryText(report, flags.dryRun ? plan : undefined));
  return report.exit_code;
}

/** Writes to stdout; a reader that went away is no failure (nobody is left to read). */
async function stdoutUnlessClosed(io: Io, text: string): Promise<void> {
  try {
    await io.stdout(text);
  } catch (error) {
    if (!isOutputClosed(error)) throw error;
  }
}

const minProgressIntervalSeconds = 1;

/** --log-format, --log-level and --progress-interval, checked before anything else runs. */
function runLogOptions(flags: RunFlags): RunLogOptions {
  const format = flags.logFormat ?? "text";
  if (format !== "text" && format !== "json")
    throw new RestloadError("E_USAGE", `--log-format expects text or json, got "${format}"`, { hint: "Pass --log-format json." });
  const level = flags.logLevel ?? "info";
  if (!(logLevels as readonly string[]).includes(level))
    throw new RestloadError("E_USAGE", `--log-level expects ${logLevels.join(", ")}, got "${level}"`, {
      hint: "Pass --log-level warn to log only retries, warnings and errors, or debug to add every page.",
    });
  const hint = "Pass e.g. --progress-interval 30s, 2m or 10 (seconds).";
  const seconds = flags.progressInterval === undefined ? 30 : secondsFlag("--progress-interval", flags.progressInterval, hint);
  // A line per active resource this often at most: below a second the log would be mostly progress.
  if (seconds < minProgressIntervalSeconds)
    throw new RestloadError(
      "E_USAGE",
      `--progress-interval expects at least ${minProgressIntervalSeconds} s, got "${String(flags.progressInterval)}"`,
      { hint },
    );
  return { format, level: level as LogLevel, progressIntervalMs: seconds * 1000, dryRun: flags.dryRun === true };
}
