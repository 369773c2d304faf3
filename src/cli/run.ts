// `restload run <pipeline.toml>`: extract, normalise and load every selected unit; print a summary.
import type { CAC } from "cac";
import { RestloadError, errorData } from "../errors.ts";
import { dryRunWindowsText, outlineWindows } from "../extract/windows.ts";
import type { Plan } from "../plan/index.ts";
import type { RunEvent, RunSummary } from "../run/index.ts";
import { runtimeFetch } from "../runtime/fetch.ts";
import { toJson } from "../util/json.ts";
import { errorJson, formatError, journalError } from "./_format.ts";
import type { Io } from "./_io.ts";
import { lockTimeoutMs, lockTimeoutOption } from "./_options.ts";
import { preparePipeline, selectRoots } from "./_pipeline.ts";

interface RunFlags {
  select?: unknown;
  database?: string;
  secrets?: string;
  json?: boolean;
  logFormat?: string;
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
    .option("--select <names>", "Only the load units of these root resources (comma-separated)")
    .option("--database <path>", "DuckDB file to load (overrides pipeline.database)")
    .option("--secrets <path>", "Secrets file (default: secrets.toml, then .restload/secrets.toml beside the pipeline)")
    .option("--full-refresh", "Reset the selected resources' incremental cursors and replace their tables")
    .option("--dry-run", "Extract and normalise, print what would be loaded; the database is not opened (cursors start from initial_value)")
    .option("--json", "Print the summary as JSON")
    .option("--log-format <format>", "Event lines on stderr: text (default) or json")
    .option(...lockTimeoutOption)
    .example("restload run github.toml --select issues")
    .action((file: string, flags: RunFlags) => runCommand(io, file, flags));
}

async function runCommand(rawIo: Io, file: string, flags: RunFlags): Promise<number> {
  const format = flags.logFormat ?? "text";
  if (format !== "text" && format !== "json") throw new RestloadError("E_USAGE", `--log-format expects text or json, got "${format}"`);
  let io = rawIo;
  try {
    return await runWith(rawIo, file, flags, format, (redacting) => (io = redacting));
  } catch (error) {
    // An error that ends the whole command (configuration, secrets, the lock) in the format asked
    // for: a JSON event line with --log-format json, an error object on stdout with --json.
    if (!(error instanceof RestloadError) || (format !== "json" && !flags.json)) throw error;
    if (format === "json") await io.stderr(`${toJson({ time: new Date().toISOString(), event: "run_failed", ...errorData(error) })}\n`);
    else await io.stderr(journalError(io.env, formatError(error)));
    if (flags.json) await io.stdout(`${toJson(errorJson(error), 2)}\n`);
    return error.exitCode;
  }
}

async function runWith(rawIo: Io, file: string, flags: RunFlags, format: "text" | "json", redacting: (io: Io) => void): Promise<number> {
  const timeout = lockTimeoutMs(flags.lockTimeout);
  const prepared = await preparePipeline(rawIo, file, { secretsFile: flags.secrets, database: flags.database });
  const { io, plan } = prepared;
  redacting(io);
  const units = flags.select === undefined ? undefined : selectRoots(plan, flags.select).map((resource) => resource.unit);
  const journal = io.env.JOURNAL_STREAM !== undefined ? "<6>" : "";
  await io.stderr(
    format === "json"
      ? `${toJson({ time: new Date().toISOString(), event: "run_started", pipeline: plan.pipeline, database: plan.database })}\n`
      : `${journal}database: ${plan.database}\n`,
  );
  // DuckDB is loaded only when a command needs it, so --help and --version stay instant.
  const { dryRun, runPipeline } = await import("../run/index.ts");
  const options = {
    plan,
    secrets: prepared.secrets,
    redactor: prepared.redactor,
    units,
    fetch: runtimeFetch(plan.client.ca_certificates, prepared.loaded.dir),
    onEvent: runLogger(io, format),
    onCrashPoint: rawIo.onCrashPoint,
  };
  const summary = flags.dryRun
    ? await dryRun(options)
    : await runPipeline({ ...options, lockTimeoutMs: timeout, signal: rawIo.signal, fullRefresh: flags.fullRefresh });
  await io.stdout(flags.json ? `${toJson(summary, 2)}\n` : summaryText(summary, flags.dryRun ? plan : undefined));
  return summary.exit_code;
}

/**
 * Event lines on stderr. On a terminal (text format) page progress updates one line in place;
 * elsewhere (systemd, pipes) every event is one plain line, no escape codes, with a journald
 * severity prefix (`<6>` info, `<4>` warning, `<3>` error) when JOURNAL_STREAM is set.
 */
function runLogger(io: Io, format: "text" | "json"): (event: RunEvent) => void {
  if (format === "json") return (event) => void io.stderr(eventJson(event));
  const journal = io.env.JOURNAL_STREAM !== undefined;
  const live = io.stderrIsTerminal === true && !journal;
  const totals = new Map<string, { pages: number; records: number; started: number }>();
  let inPlace = false;
  return (event) => {
    if (live && event.type === "page") {
      const total = totals.get(event.resource) ?? { pages: 0, records: 0, started: Date.now() };
      total.pages++;
      total.records += event.records;
      totals.set(event.resource, total);
      const rate = total.records / Math.max(0.001, (Date.now() - total.started) / 1000);
      inPlace = true;
      void io.stderr(
        `\r\x1b[K${event.unit}: ${event.resource} ${total.pages} pages, ${total.records} records, ${rate.toFixed(0)} records/s`,
      );
      return;
    }
    const text = eventText(event);
    const prefix = !journal
      ? ""
      : event.type === "unit_failed"
        ? "<3>"
        : event.type === "retry" || event.type === "warning"
          ? "<4>"
          : "<6>";
    const lines = text
      .replace(/\n$/, "")
      .split("\n")
      .map((line) => `${prefix}${line}\n`)
      .join("");
    void io.stderr(`${inPlace ? "\r\x1b[K" : ""}${lines}`);
    inPlace = false;
  };
}

function eventText(event: RunEvent): string {
  switch (event.type) {
    case "unit_started":
      return `unit ${event.unit}: started (load ${event.loadId})\n`;
    case "page":
      return `unit ${event.unit}: ${event.resource} page ${event.page}, ${event.records} records\n`;
    case "retry":
      return `unit ?: retry of ${event.event.resource}, attempt ${event.event.attempt} failed (${event.event.reason}); next in ${(event.event.delayMs / 1000).toFixed(1)} s\n`.replace(
        "unit ?: ",
        "",
      );
    case "checkpoint":
      return `unit ${event.unit}: checkpoint ${event.checkpoint} committed ${event.rows} rows (load ${event.loadId})${event.cursor === null ? "" : `, cursor at ${String(event.cursor)}`}\n`;
    case "unit_committed":
      return `unit ${event.unit}: committed ${Object.values(event.rows).reduce((a, b) => a + b, 0)} rows${event.checkpoints > 1 ? ` in ${event.checkpoints} checkpoints` : ""}\n`;
    case "unit_failed":
      return `unit ${event.unit}: failed, rolled back\n${formatError(event.error)}`;
    case "warning":
      return `unit ${event.unit}: ${event.message}\n`;
  }
}

function eventJson(event: RunEvent): string {
  const base = { time: new Date().toISOString(), event: event.type };
  switch (event.type) {
    case "retry":
      return `${toJson({ ...base, ...event.event })}\n`;
    case "unit_failed":
      return `${toJson({ ...base, unit: event.unit, ...event.error })}\n`;
    default: {
      const { type: _type, ...rest } = event;
      return `${toJson({ ...base, ...rest })}\n`;
    }
  }
}

/** The summary as text; with the plan of a dry run, also the windows each windowed resource requested. */
function summaryText(summary: RunSummary, dryRunPlan?: Plan): string {
  const dry = summary.run_id === "dry-run";
  const lines = dry
    ? [`dry run of pipeline ${summary.pipeline}: ${summary.status}; nothing was written to ${summary.database}`]
    : [
        `run ${summary.run_id} of pipeline ${summary.pipeline}: ${summary.status}`,
        `database ${summary.database} (dataset ${summary.dataset})`,
      ];
  for (const unit of summary.units) {
    const rows = Object.values(unit.rows_by_table).reduce((a, b) => a + b, 0);
    const status = dry ? (unit.status === "committed" ? "would load" : "failed") : unit.status;
    lines.push(
      `unit ${unit.unit}: ${status}${unit.status === "committed" || rows > 0 ? `, ${rows} rows` : ""}${unit.checkpoints > 1 || (unit.status === "failed" && unit.checkpoints > 0) ? ` in ${unit.checkpoints} checkpoint${unit.checkpoints === 1 ? "" : "s"}${unit.status === "failed" ? " kept" : ""}` : ""} (${unit.requests} requests, ${unit.retries} retries, ${(unit.duration_ms / 1000).toFixed(1)} s)`,
    );
    if (unit.error)
      lines.push(`  error[${unit.error.code}]: ${unit.error.message}${unit.error.hint ? `\n  hint: ${unit.error.hint}` : ""}`);
    const width = Math.max(0, ...Object.keys(unit.rows_by_table).map((table) => table.length));
    for (const [table, count] of Object.entries(unit.rows_by_table)) lines.push(`  ${table.padEnd(width)}  ${String(count).padStart(8)}`);
    for (const resource of dryRunPlan?.resources.filter((candidate) => candidate.unit === unit.unit) ?? []) {
      const windows = resource.incremental && outlineWindows(resource.incremental, Date.parse(summary.started_at));
      if (windows) lines.push(`  windows of ${resource.name}: ${dryRunWindowsText(windows, resource.parent !== null)}`);
    }
  }
  lines.push(
    `total ${summary.rows} rows, ${summary.requests} requests, ${summary.retries} retries in ${(summary.duration_ms / 1000).toFixed(1)} s`,
  );
  return lines.join("\n") + "\n";
}
